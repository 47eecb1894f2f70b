// Browser walks of a role's working day on a 390 px phone, each person in their own browser:
//   1. 小事不出格: a resident reports 楼道堆物 from 我的 → 我要反映; the building officer finds it under
//      待立案 in 待办 with its full place, 立案, 本级自行处置, 处置完成; the compound leader finds it under
//      待核查, 核查通过, 结案; the resident sees it closed under 我的反映.
//   2. 物业: the community names the compound's property company on its grid page; the compound
//      leader accepts a resident's 楼道堆物 and sends it to that company (the only unit offered, and
//      preselected under 本小区物业公司); the property company finds it under 派给本单位的案件,
//      handles it; the compound verifies and closes; the timeline says 派至<company>.
// Every page visited answers 200, shows no ISO timestamp, UUID or audit code, does not scroll
// sideways, and every same-site link it shows opens (no 403/404/500 behind a link: a dead end).
// Screenshots: e2e/screenshots/{role}-{step}.png.
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/roles.test.mjs   (or e2e/run.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, PASSWORD, PHONE, here, launch, login, newPage, shot } from './support.mjs';

const COMMUNITY = '411602001001';
const COMPOUND = '411602001001001'; // the `compound` leader's compound
const BUILDING = '411602001001001001'; // building 1: the `building` officer's and the `resident`'s
const CASE_PATH = /^\/console\/cases\/[0-9a-f-]{36}$/;

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// A raw audit or action code (case.accept, grid.update …). No exclusions are needed so far: the
// pages show no URLs or e-mail addresses as text (links carry them in href only, and the walk
// checks visible text). Should one ever show "gongzhi.example.org", it would trip this on purpose.
const CODE = /\b[a-z]+\.[a-z_]+\b/;

let browser;
// The full place of building 1 (街道 › 社区 › 小区 › 楼栋), read from the API.
let buildingPlace = null;

before(async () => {
  browser = await launch();
  const login = await fetch(`${BASE_URL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  assert.equal(login.status, 200, 'API login as admin');
  const { token } = await login.json();
  const names = [];
  for (let code = BUILDING; code.length > 6; code = code.length === 9 ? code.slice(0, 6) : code.slice(0, -3)) {
    const r = await fetch(`${BASE_URL}/api/v1/grids/${code}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `GET /api/v1/grids/${code}`);
    names.unshift((await r.json()).name);
  }
  buildingPlace = names.join(' › ');
});
after(async () => {
  await browser?.close();
});

// One person's phone: a signed-in page that remembers the status of the last page it loaded and
// which links it has already followed.
async function person(t, role) {
  const { context, page } = await newPage(browser, PHONE, true);
  t.after(() => context.close());
  const w = { role, context, page, status: 0, followed: new Set() };
  page.on('response', (r) => {
    const s = r.status();
    // The document of the main frame, after any redirect (a POST answers 303, then the page).
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && !(s >= 300 && s < 400)) w.status = s;
  });
  await login(page, role);
  return w;
}

// The checks every visited page must pass, then a screenshot named {role}-{step}.
async function checkPage(w, step) {
  const { page, role } = w;
  const where = `${role} at ${step} (${here(page)})`;
  assert.equal(w.status, 200, `${where} answered ${w.status}`);
  const text = await page.locator('body').innerText();
  for (const [name, re] of [['an ISO timestamp', ISO], ['a UUID', UUID], ['a raw audit code', CODE]]) {
    const m = text.match(re);
    assert.ok(!m, `${where} shows ${name}: ${m && JSON.stringify(text.slice(Math.max(0, m.index - 30), m.index + 40))}`);
  }
  const m = await page.evaluate(() => {
    const vw = window.innerWidth;
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 && r.width > 0) {
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
        wide.push(`${el.tagName.toLowerCase()}${cls} (right edge ${Math.round(r.right)}px)`);
      }
    }
    return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: vw, wide: wide.slice(0, 5) };
  });
  assert.ok(
    m.scrollWidth <= m.innerWidth + 1,
    `${where} scrolls sideways: scrollWidth ${m.scrollWidth}px > ${m.innerWidth}px; past the edge: ${m.wide.join(', ') || 'none found'}`,
  );
  await shot(page, `${role}-${step}`);
  // No dead ends: every same-site link the page shows opens for this person.
  // SVG links (the grid maps) carry their href as an attribute, not as a string property.
  const hrefs = await page
    .locator('a[href], a[*|href]')
    .evaluateAll((as) => as.map((a) => new URL(a.getAttribute('href') ?? a.getAttribute('xlink:href'), document.baseURI).href));
  const dead = [];
  for (const href of hrefs) {
    const u = new URL(href);
    if (u.origin !== new URL(BASE_URL).origin) continue; // tel:, geo: (导航)
    const key = u.pathname + u.search;
    if (w.followed.has(key)) continue;
    w.followed.add(key);
    const r = await w.context.request.get(`${BASE_URL}${key}`, { maxRedirects: 5 });
    if (r.status() >= 400) dead.push(`${key} → ${r.status()}`);
  }
  assert.deepEqual(dead, [], `${where} shows links that do not open for ${role}`);
}

async function goto(w, path, step) {
  await w.page.goto(`${BASE_URL}${path}`);
  await checkPage(w, step);
}

// Follows the link named `name` on the page (a navigation), then checks the new page.
async function follow(w, name, step) {
  const link = w.page.getByRole('link', { name, exact: true }).first();
  assert.ok((await link.count()) > 0, `${w.role} on ${here(w.page)}: no link 「${name}」`);
  await Promise.all([w.page.waitForEvent('load'), link.click()]);
  await checkPage(w, step);
}

async function texts(locator) {
  return (await locator.allInnerTexts()).map((s) => s.trim()).filter(Boolean);
}

async function caseStatus(page) {
  return (await page.locator('h1 .tag').first().innerText()).trim();
}

async function offered(page) {
  return texts(page.locator('form[action$="/actions"] button'));
}

// Presses the action `label` on a case page, after `fill(form)`; back on the case with status `want`.
async function act(w, label, want, step, fill) {
  const { page, role } = w;
  const path = new URL(page.url()).pathname;
  const button = page.getByRole('button', { name: label, exact: true });
  if ((await button.count()) === 0) {
    assert.fail(`${role} on ${here(page)} (${await caseStatus(page)}) has no 「${label}」; offered: ${(await offered(page)).join('、') || 'none'}`);
  }
  const form = page.locator('form[action$="/actions"]').filter({ has: button });
  if (fill) await fill(form.first());
  await Promise.all([page.waitForEvent('load', { timeout: 10_000 }), button.first().click()]);
  assert.deepEqual(await texts(page.locator('.error')), [], `${role}: 「${label}」 on ${path} showed an error`);
  assert.equal(new URL(page.url()).pathname, path, `${role}: 「${label}」 left the case page for ${here(page)}`);
  assert.equal(await caseStatus(page), want, `${role}: after 「${label}」 the case reads`);
  await checkPage(w, step);
}

// The inbox section titled `title` (its heading reads 「title（n）」) and its row for case `code`.
function inboxRow(page, title, code) {
  const table = page.locator('h2', { hasText: new RegExp(`^${title}（\\d+）$`) }).locator('xpath=following-sibling::table[1]');
  return table.locator('tbody tr').filter({ has: page.locator('td[data-label="编号"]', { hasText: code }) });
}

// Opens case `code` from the inbox section `title`, from the first ten or, when the section holds
// more, through its 查看全部 board.
async function openFromInbox(w, title, code, step) {
  const { page, role } = w;
  await goto(w, '/console/inbox', `${step}-inbox`);
  let row = inboxRow(page, title, code);
  if ((await row.count()) === 0) {
    const heading = page.locator('h2', { hasText: new RegExp(`^${title}（\\d+）$`) });
    assert.equal(await heading.count(), 1, `${role}'s 待办 has no section 「${title}」: ${(await texts(page.locator('main h2'))).join(' / ')}`);
    const more = heading.locator('xpath=following-sibling::p[1]').getByRole('link', { name: /查看全部/ });
    assert.equal(await more.count(), 1, `${role}'s 待办 section 「${title}」 does not list case ${code}, and offers no 查看全部`);
    await Promise.all([page.waitForEvent('load'), more.click()]);
    await checkPage(w, `${step}-all`);
    row = page.locator('table.list tbody tr').filter({ has: page.locator('td[data-label="编号"]', { hasText: code }) });
    assert.equal(await row.count(), 1, `${role}: 「${title}」 → 查看全部 (${here(page)}) does not list case ${code}`);
  }
  // The inbox calls the place 位置, the board 网格; both name the full place.
  const place = (await row.locator('td[data-label="位置"], td[data-label="网格"]').first().innerText()).trim();
  await Promise.all([page.waitForEvent('load'), row.locator('td[data-label="编号"] a').click()]);
  assert.match(new URL(page.url()).pathname, CASE_PATH, `${role}: the code ${code} in 「${title}」 did not open a case`);
  await checkPage(w, step);
  return place;
}

// The resident reports 楼道堆物 from 我的 → 我要反映 and lands on the new case; its tracking code.
async function residentReports(w, description, prefix) {
  const { page } = w;
  await goto(w, '/console/me', `${prefix}-me`);
  await follow(w, '我要反映', `${prefix}-new`);
  const form = page.locator('form[action="/console/cases/new"]');
  assert.equal(await form.locator('input[name="grid"]').inputValue(), BUILDING, "the report form holds the resident's building");
  await form.locator('select[name="category"]').selectOption({ label: '楼道堆物' });
  await form.locator('textarea[name="description"]').fill(description);
  await Promise.all([page.waitForEvent('load', { timeout: 10_000 }), form.getByRole('button', { name: '提交', exact: true }).click()]);
  const u = new URL(page.url());
  assert.ok(
    CASE_PATH.test(u.pathname) && u.searchParams.get('created') === '1',
    `the report did not land on the new case: ${here(page)}; errors: ${(await texts(page.locator('.error'))).join(' ')}`,
  );
  assert.equal(await caseStatus(page), '已上报');
  await checkPage(w, `${prefix}-reported`);
  const kv = await page.locator('dl.kv').innerText();
  const code = /编号\s*(\S+)/.exec(kv)?.[1];
  assert.ok(code, `the new case shows its 编号: ${JSON.stringify(kv)}`);
  return code;
}

// Runs the steps of one walk in order; after a failure the rest are skipped, with a screenshot.
function walk(t, pageOf) {
  let broken = false;
  return (name, fn) =>
    t.test(name, async (st) => {
      if (broken) return st.skip('an earlier step failed');
      try {
        await fn();
      } catch (e) {
        broken = true;
        const p = pageOf();
        if (p) await shot(p, `FAILED-roles-${name.replace(/[^\w.-]+/g, '_')}`).catch(() => {});
        throw e;
      }
    });
}

test('phone 390px: 小事不出格 — resident reports, building handles it itself, compound checks and closes', { timeout: 120_000 }, async (t) => {
  let current = null;
  const step = walk(t, () => current?.page);
  const description = `1号楼3单元楼道堆放纸箱（roles e2e ${Date.now()}）`;
  let resident, code;

  await step('resident: 我的 → 我要反映 → 楼道堆物', async () => {
    resident = current = await person(t, 'resident');
    assert.equal(new URL(resident.page.url()).pathname, '/console/me', 'the resident lands on 我的');
    code = await residentReports(resident, description, 'small');
  });

  await step('building: 待办 → 待立案 lists it with its full place; 立案 → 本级自行处置 → 处置完成', async () => {
    const w = (current = await person(t, 'building'));
    assert.equal(new URL(w.page.url()).pathname, '/console/inbox', 'the building officer lands on 待办');
    const place = await openFromInbox(w, '待立案', code, 'small-case');
    assert.equal(place, buildingPlace, `待立案 names the case's full place`);
    const page = w.page;
    assert.equal((await page.locator('.place-path').innerText()).trim(), buildingPlace, 'the case page names its full place');
    assert.equal(await page.locator('section.place svg').count(), 1, 'the case page has a map');
    assert.ok((await page.locator('main').innerText()).includes(description), 'the case page shows the description');
    assert.equal(await caseStatus(page), '已上报');
    await act(w, '立案', '已立案', 'small-accepted');
    await act(w, '本级自行处置', '处置中', 'small-handling');
    await act(w, '处置完成', '已处置', 'small-handled', (form) => form.locator('textarea[name="note"]').fill('已清理楼道纸箱，通道畅通'));
    const buttons = await offered(page);
    assert.ok(!buttons.includes('核查通过'), `the officer who handled it may not check it; offered: ${buttons.join('、')}`);
    assert.ok((await page.locator('ol.timeline').innerText()).includes('已清理楼道纸箱'), 'the timeline shows the 处置情况');
  });

  await step('compound: 待办 → 待核查 → 核查通过 → 结案', async () => {
    const w = (current = await person(t, 'compound'));
    assert.equal(new URL(w.page.url()).pathname, '/console/inbox', 'the compound leader lands on 待办');
    await openFromInbox(w, '待核查', code, 'small-case');
    assert.equal(await caseStatus(w.page), '已处置');
    await act(w, '核查通过', '已核查', 'small-verified');
    await act(w, '结案', '已结案', 'small-closed');
  });

  await step('resident: 我的反映 shows it closed', async () => {
    const w = (current = resident);
    await goto(w, '/console/me', 'small-me-again');
    await follow(w, '我的反映', 'small-mine');
    assert.equal(new URL(w.page.url()).searchParams.get('mine'), '1', `我的反映 opens ${here(w.page)}`);
    const row = w.page.locator('table.list tbody tr').filter({ has: w.page.locator('td[data-label="编号"]', { hasText: code }) });
    assert.equal(await row.count(), 1, `我的反映 lists case ${code}`);
    assert.equal((await row.locator('td[data-label="状态"] .tag').first().innerText()).trim(), '已结案');
    await Promise.all([w.page.waitForEvent('load'), row.locator('td[data-label="编号"] a').click()]);
    assert.equal(await caseStatus(w.page), '已结案');
    await checkPage(w, 'small-closed-case');
  });
});

test('phone 390px: 物业 — the community names the property company, the compound sends it there, the company handles it', { timeout: 120_000 }, async (t) => {
  let current = null;
  const step = walk(t, () => current?.page);
  const description = `1号楼2单元楼道堆放旧自行车（roles e2e ${Date.now()}）`;
  let company, compound, code;

  await step('property: lands on 待办; 我的 names its company', async () => {
    const w = (current = await person(t, 'property'));
    assert.equal(new URL(w.page.url()).pathname, '/console/inbox', 'the property company lands on 待办');
    await checkPage(w, 'company-inbox');
    await goto(w, '/console/me', 'company-me');
    const dd = await texts(w.page.locator('dl.kv dd'));
    company = dd.find((s) => s.includes('物业'));
    assert.ok(company, `the property account's 我的 names its company: ${dd.join(' / ')}`);
  });

  await step("community: the compound's grid page names that company (修改网格长、物业公司或边界)", async () => {
    const w = (current = await person(t, 'community'));
    await goto(w, `/console/grids/${COMMUNITY}`, 'company-community-grid');
    const child = w.page.locator(`ul.children a[href="/console/grids/${COMPOUND}"]`);
    await Promise.all([w.page.waitForEvent('load'), child.click()]);
    await checkPage(w, 'company-compound-grid');
    const page = w.page;
    await page.locator('summary', { hasText: '修改网格长、物业公司或边界' }).click();
    const select = page.locator('select[name="property_company"]');
    const choices = await texts(select.locator('option'));
    assert.ok(choices.includes(company), `物业公司 offers ${company}: ${choices.join('、')}`);
    await select.selectOption({ label: company });
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: '保存', exact: true }).click()]);
    assert.deepEqual(await texts(page.locator('.error')), [], 'saving the compound showed an error');
    assert.equal(new URL(page.url()).pathname, `/console/grids/${COMPOUND}`, `保存 returns to the compound, not ${here(page)}`);
    const contacts = await page.locator('ul.contacts').first().innerText();
    assert.ok(contacts.includes(`物业公司：${company}`), `the compound names its company: ${JSON.stringify(contacts)}`);
    await checkPage(w, 'company-compound-saved');
  });

  await step('resident: reports 楼道堆物', async () => {
    const w = (current = await person(t, 'resident'));
    code = await residentReports(w, description, 'company');
  });

  await step('compound: 待立案 → 立案 → 派遣 to the property company, the only unit offered', async () => {
    const w = (current = compound = await person(t, 'compound'));
    await openFromInbox(w, '待立案', code, 'company-case');
    await act(w, '立案', '已立案', 'company-accepted');
    const select = w.page.locator('select[name="unit"]');
    const options = await select.locator('option').evaluateAll((os) =>
      os.filter((o) => o.value).map((o) => ({ name: o.textContent.trim(), group: o.parentElement.label, selected: o.selected })),
    );
    assert.deepEqual(options, [{ name: company, group: '本小区物业公司', selected: true }], 'the compound may send it to its property company only');
    await act(w, '派遣', '已派遣', 'company-dispatched');
    const unit = await w.page.locator('dl.kv').innerText();
    assert.ok(unit.includes(company), `承办单位 names ${company}`);
  });

  await step('property: 待办 → 派给本单位的案件 → 开始处置 → 处置完成', async () => {
    const w = (current = await person(t, 'property'));
    await openFromInbox(w, '派给本单位的案件', code, 'company-case');
    assert.equal(await caseStatus(w.page), '已派遣');
    await act(w, '开始处置', '处置中', 'company-handling');
    await act(w, '处置完成', '已处置', 'company-handled', (form) => form.locator('textarea[name="note"]').fill('物业已联系住户移走自行车'));
  });

  await step('compound: 待核查 → 核查通过 → 结案; the timeline says 派至 the company', async () => {
    const w = (current = compound);
    await openFromInbox(w, '待核查', code, 'company-check');
    await act(w, '核查通过', '已核查', 'company-verified');
    await act(w, '结案', '已结案', 'company-closed');
    const timeline = await w.page.locator('ol.timeline').innerText();
    assert.ok(timeline.includes(`派至${company}`), `the timeline says 派至${company}: ${JSON.stringify(timeline)}`);
    assert.ok(timeline.includes('物业已联系住户移走自行车'), 'the timeline shows the company’s 处置情况');
  });
});
