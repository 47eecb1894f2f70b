// End-to-end browser test of the case (案件) pages at phone width, run against
// a live `gongzhi demo --scale small` server (see e2e/run.sh, which starts one).
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/cases.test.mjs
//
// One case is walked through its whole life by the people who would handle it
// (building officer reports → community staff 立案/派遣 → department handles →
// officer 核查 → community 结案 → officer 评价), each in their own browser
// context, all at 390x844. Then the case board, the public report/track pages
// and the 考核排名 page. Screenshots: e2e/screenshots/phone-case-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { assertNoHorizontalOverflow, auditEvery, here, login, settle } from './support.mjs';

const BASE_URL = (process.env.GONGZHI_E2E_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const BUILDING = '411602001001001001'; // the `building` officer's building
const PUBLIC_GRID = '411602001001001002'; // a neighbouring building, reported to anonymously
const DEPARTMENT = '区城市管理局'; // the `department` user's unit
const SHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const PHONE = { width: 390, height: 844 };
const CASE_PATH = /^\/console\/cases\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

if (!BASE_URL) {
  throw new Error(
    'GONGZHI_E2E_URL is not set. Start a demo server and point it there, e.g.\n' +
      '  GONGZHI_E2E_URL=http://127.0.0.1:8080 node --test e2e/cases.test.mjs\n' +
      'or just run e2e/run.sh, which does all of that.',
  );
}

let browser;

before(async () => {
  mkdirSync(SHOT_DIR, { recursive: true });
  // Drop failure shots left by an earlier run of this file.
  for (const f of readdirSync(SHOT_DIR)) if (f.startsWith('FAILED-case-')) rmSync(join(SHOT_DIR, f));
  try {
    browser = auditEvery(await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    }));
  } catch (e) {
    throw new Error(`could not launch Chromium at ${CHROMIUM} (apt-get install -y chromium?): ${e.message}`);
  }
});

after(async () => {
  await browser?.close();
});

async function newPhonePage() {
  const context = await browser.newContext({
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  page.setDefaultNavigationTimeout(15_000);
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: true });
}

async function texts(page, selector) {
  return (await page.locator(selector).allInnerTexts()).map((s) => s.trim()).filter(Boolean);
}

// Status tag next to the case title (case detail page).
async function caseStatus(page) {
  const tag = page.locator('h1 .tag').first();
  if ((await tag.count()) === 0) return null;
  return (await tag.innerText()).trim();
}

async function openCase(page, url, who) {
  const resp = await page.goto(url);
  assert.ok(resp && resp.ok(), `${who}: GET ${new URL(url).pathname} answered ${resp && resp.status()}`);
  await page.locator('h1').waitFor();
}

// Press the action button `label` on a case detail page (each action is its
// own <form>), after `fill(form)` has filled the form's other fields. Expects
// the redirect back to the case with ?done=1 and the status tag to read `want`.
async function act(page, who, label, want, fill) {
  const casePath = new URL(page.url()).pathname;
  const buttons = page.getByRole('button', { name: label, exact: true });
  if ((await buttons.count()) === 0) {
    const offered = await texts(page, 'form[action$="/actions"] button');
    assert.fail(
      `${who} on ${here(page)} (status ${await caseStatus(page)}) has no 「${label}」 button; offered: ${offered.join('、') || 'none'}`,
    );
  }
  const form = page.locator('form[action$="/actions"]').filter({ has: buttons });
  if (fill) await fill(form.first());
  // 'load' fires for the next document only: the page after the POST (and its redirect).
  await Promise.all([page.waitForEvent('load', { timeout: 10_000 }), buttons.first().click()]);
  await page.locator('h1').waitFor();
  const errors = await texts(page, '.error');
  assert.deepEqual(errors, [], `${who}: 「${label}」 on ${casePath} showed an error`);
  assert.equal(new URL(page.url()).pathname, casePath, `${who}: 「${label}」 left the case page for ${here(page)}`);
  const status = await caseStatus(page);
  assert.equal(status, want, `${who}: after 「${label}」 the status tag on ${here(page)} should read ${want}, reads ${status}`);
}

// Runs `fn` as a subtest; after a failure the remaining steps are skipped
// rather than failing with confusing follow-on errors. `pageOf()` names the
// page to photograph when a step fails.
function stepper(t, prefix) {
  let broken = false;
  return (name, pageOf, fn) =>
    t.test(name, async (st) => {
      if (broken) return st.skip('an earlier step failed');
      try {
        await fn();
        const p = pageOf();
        if (p) await settle(p);
      } catch (e) {
        broken = true;
        const p = pageOf();
        if (p) await shot(p, `FAILED-case-${prefix}-${name.replace(/[^\w.-]+/g, '_')}`).catch(() => {});
        throw e;
      }
    });
}

// Set by the lifecycle test; closedCode (its tracking code) only once 结案 worked,
// for the board test to look for.
let caseUrl = null;
let trackingCode = null;
let closedCode = null;

test('phone 390px: a case goes 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 → 评价', { timeout: 45_000 }, async (t) => {
  const pages = {};
  t.after(() => Promise.all(Object.values(pages).map((p) => p.context().close())));
  const as = async (who) => {
    if (!pages[who]) {
      const { page } = await newPhonePage();
      pages[who] = page;
      await login(page, who);
    }
    return pages[who];
  };
  let current = null; // page to photograph on failure
  const step = stepper(t, 'lifecycle');
  const description = `3单元楼道堆放旧家具（e2e ${Date.now()}）`;

  await step('building: the new-case form is prefilled with the building code', () => current, async () => {
    const page = (current = await as('building'));
    const resp = await page.goto(`${BASE_URL}/console/cases/new`);
    assert.ok(resp && resp.ok(), `GET /console/cases/new as building answered ${resp && resp.status()}`);
    const form = page.locator('form[action="/console/cases/new"]');
    assert.equal(await form.count(), 1, `/console/cases/new has no form posting to /console/cases/new`);
    const grid = await form.locator('input[name="grid"]').inputValue();
    assert.equal(grid, BUILDING, `grid input should be prefilled with the officer's building ${BUILDING}, is ${JSON.stringify(grid)}`);
    const values = await form.locator('select[name="category"] option').evaluateAll((os) => os.map((o) => o.value));
    for (const v of ['SQ01', 'SQ07']) assert.ok(values.includes(v), `category select lacks ${v}; has ${values.join(', ')}`);
    assert.equal(await form.getByRole('button', { name: '使用手机定位' }).count(), 1, 'no 使用手机定位 button on the new-case form');
    await shot(page, 'phone-case-01-new-form');
    await assertNoHorizontalOverflow(page, 'new-case form');
  });

  await step('building: report SQ07 楼道堆物 and land on the new case', () => current, async () => {
    const page = (current = await as('building'));
    const form = page.locator('form[action="/console/cases/new"]');
    await form.locator('select[name="category"]').selectOption('SQ07');
    await form.locator('textarea[name="description"]').fill(description);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.has('created') || u.pathname !== '/console/cases/new', { timeout: 10_000 }).catch(() => {}),
      form.getByRole('button', { name: '提交', exact: true }).click(),
    ]);
    const u = new URL(page.url());
    assert.ok(
      CASE_PATH.test(u.pathname) && u.searchParams.get('created') === '1',
      `after submitting expected /console/cases/{uuid}?created=1, got ${here(page)}; errors: ${JSON.stringify(await texts(page, '.error'))}`,
    );
    caseUrl = `${BASE_URL}${u.pathname}`;
    const notice = await texts(page, '.notice');
    assert.ok(notice.some((n) => n.includes('已上报，可凭编号跟踪办理进度')), `expected notice 已上报，可凭编号跟踪办理进度, got ${JSON.stringify(notice)}`);
    assert.equal(await caseStatus(page), '已上报', `new case status tag`);
    const body = await page.locator('main').innerText();
    assert.ok(body.includes(description), `case page ${here(page)} does not show the description ${JSON.stringify(description)}`);
    assert.ok(body.includes('楼道堆物'), `case page ${here(page)} does not show the category 楼道堆物`);
    const kv = await page.locator('dl.kv').innerText();
    trackingCode = /编号\s*(\S+)/.exec(kv)?.[1] ?? null;
    assert.match(trackingCode ?? '', /^[A-HJ-NP-Z2-9]{10}$/, `the case page shows a tracking code: ${JSON.stringify(kv)}`);
    await shot(page, 'phone-case-02-created');
    await assertNoHorizontalOverflow(page, 'case page (just reported)');
  });

  await step('community: sees 立案 / 不予立案 and accepts the case', () => current, async () => {
    const page = (current = await as('community'));
    await openCase(page, caseUrl, 'community');
    assert.equal(await caseStatus(page), '已上报', `community sees the new case as`);
    const offered = await texts(page, 'form[action$="/actions"] button');
    for (const b of ['立案', '不予立案']) {
      assert.ok(offered.includes(b), `community on a 已上报 case should be offered 「${b}」; offered: ${offered.join('、') || 'none'}`);
    }
    await shot(page, 'phone-case-03-community-reported');
    await assertNoHorizontalOverflow(page, 'case page (community, 已上报)');
    await act(page, 'community', '立案', '已立案');
    // 吹哨 is allowed from 已立案 on (not on a merely reported case).
    const now = await texts(page, 'form[action$="/actions"] button');
    for (const b of ['派遣', '吹哨（召集部门报到）']) {
      assert.ok(now.includes(b), `community on a 已立案 case should be offered 「${b}」; offered: ${now.join('、') || 'none'}`);
    }
    await shot(page, 'phone-case-04-community-accepted');
    await assertNoHorizontalOverflow(page, 'case page (community, 已立案)');
  });

  await step(`community: dispatches to ${DEPARTMENT}`, () => current, async () => {
    const page = (current = await as('community'));
    await act(page, 'community', '派遣', '已派遣', async (form) => {
      const select = form.locator('select[name="unit"]');
      const labels = (await select.locator('option').allInnerTexts()).map((s) => s.trim());
      assert.ok(labels.includes(DEPARTMENT), `派遣 unit select has no ${DEPARTMENT}; has ${labels.join('、')}`);
      await select.selectOption({ label: DEPARTMENT });
    });
    const unit = await page.locator('dl.kv').innerText();
    assert.ok(unit.includes(DEPARTMENT), `after 派遣 the case should name ${DEPARTMENT} as 承办单位: ${JSON.stringify(unit)}`);
    await shot(page, 'phone-case-05-community-dispatched');
    await assertNoHorizontalOverflow(page, 'case page (已派遣)');
  });

  await step('department: 开始处置 then 处置完成 with a note', () => current, async () => {
    const page = (current = await as('department'));
    await openCase(page, caseUrl, 'department');
    assert.equal(await caseStatus(page), '已派遣', `department sees the case as`);
    await shot(page, 'phone-case-06-department-dispatched');
    await act(page, 'department', '开始处置', '处置中');
    await shot(page, 'phone-case-07-department-handling');
    await assertNoHorizontalOverflow(page, 'case page (处置中)');
    await act(page, 'department', '处置完成', '已处置', async (form) => {
      const label = form.locator('label', { hasText: '处置情况' });
      assert.equal(await label.count(), 1, `the 处置完成 form has no field labelled 处置情况`);
      await label.locator('textarea').fill('已清理楼道旧家具，通道恢复畅通');
    });
    const timeline = await page.locator('ol.timeline').innerText();
    assert.ok(timeline.includes('已清理楼道旧家具'), `timeline should show the 处置情况 note: ${JSON.stringify(timeline)}`);
    await shot(page, 'phone-case-08-department-handled');
  });

  await step('building: 核查通过', () => current, async () => {
    const page = (current = await as('building'));
    await openCase(page, caseUrl, 'building');
    assert.equal(await caseStatus(page), '已处置', `building sees the handled case as`);
    await shot(page, 'phone-case-09-building-handled');
    await assertNoHorizontalOverflow(page, 'case page (building, 已处置)');
    await act(page, 'building', '核查通过', '已核查');
  });

  await step('community: 结案', () => current, async () => {
    const page = (current = await as('community'));
    await openCase(page, caseUrl, 'community');
    assert.equal(await caseStatus(page), '已核查', `community sees the verified case as`);
    await act(page, 'community', '结案', '已结案');
    closedCode = trackingCode;
    await shot(page, 'phone-case-10-community-closed');
  });

  await step('building: rates 满意', () => current, async () => {
    const page = (current = await as('building'));
    await openCase(page, caseUrl, 'building');
    assert.equal(await caseStatus(page), '已结案', `building sees the closed case as`);
    await shot(page, 'phone-case-11-building-rating-form');
    await assertNoHorizontalOverflow(page, 'case page (rating form)');
    await act(page, 'building', '提交评价', '已结案', async (form) => {
      await form.locator('select[name="rating"]').selectOption({ label: '满意' });
    });
    const rating = await page.evaluate(() => {
      const dt = [...document.querySelectorAll('dl.kv dt')].find((d) => d.textContent.trim() === '评价');
      return dt?.nextElementSibling?.textContent.trim() ?? null;
    });
    assert.equal(rating, '满意', `under 评价 the case page should show 满意`);
    assert.equal(await page.getByRole('button', { name: '提交评价' }).count(), 0, 'the rating form is still offered after rating');
    await shot(page, 'phone-case-12-building-rated');
    await assertNoHorizontalOverflow(page, 'case page (rated)');
  });
});

test('phone 390px: community filters the case board to 已结案', { timeout: 20_000 }, async (t) => {
  const { context, page } = await newPhonePage();
  t.after(() => context.close());
  const step = stepper(t, 'board');

  await step('board shows a table and the filter form, without sideways scrolling', () => page, async () => {
    await login(page, 'community');
    const resp = await page.goto(`${BASE_URL}/console/cases`);
    assert.ok(resp && resp.ok(), `GET /console/cases as community answered ${resp && resp.status()}`);
    await page.locator('table.list').waitFor();
    const form = page.locator('form.search');
    assert.equal(await form.locator('select[name="status"]').count(), 1, 'board filter has no 状态 select[name=status]');
    assert.equal(await form.locator('select[name="category"]').count(), 1, 'board filter has no 类别 select[name=category]');
    assert.equal(await form.locator('input[type="checkbox"][name="overdue"]').count(), 1, 'board filter has no 只看超期 checkbox');
    assert.ok((await form.innerText()).includes('只看超期'), 'board filter checkbox is not labelled 只看超期');
    const rows = await page.locator('table.list tbody td[data-label="编号"]').count();
    assert.ok(rows > 0, `community's case board ${here(page)} has no rows`);
    await shot(page, 'phone-case-13-board');
    await assertNoHorizontalOverflow(page, 'case board');
  });

  await step('filter 状态 = 已结案: every row reads 已结案', () => page, async () => {
    const form = page.locator('form.search');
    await form.locator('select[name="status"]').selectOption({ label: '已结案' });
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/console/cases' && u.searchParams.get('status')),
      form.getByRole('button', { name: '查询' }).click(),
    ]);
    await page.locator('table.list').waitFor();
    const statuses = await texts(page, 'table.list tbody td[data-label="状态"] .tag');
    assert.ok(statuses.length > 0, `filtering 已结案 on ${here(page)} left no rows (the case closed above should be one)`);
    const wrong = statuses.filter((s) => s !== '已结案');
    assert.deepEqual(wrong, [], `every row's status should be 已结案 on ${here(page)}; these are not (of ${statuses.length})`);
    assert.ok(closedCode, 'the lifecycle test above closed a case (结案) whose code this board should list');
    // Newest first, so the case closed by the lifecycle test leads the list.
    const codes = await texts(page, 'table.list tbody td[data-label="编号"]');
    assert.ok(codes.includes(closedCode), `the case just closed (${closedCode}) is not on the first page of 已结案: ${codes.slice(0, 5).join(', ')}…`);
    await shot(page, 'phone-case-14-board-closed');
    await assertNoHorizontalOverflow(page, 'case board (已结案)');
  });
});

test('phone 390px: a resident reports on the public grid page and tracks it by code', { timeout: 20_000 }, async (t) => {
  const { context, page } = await newPhonePage();
  t.after(() => context.close());
  const step = stepper(t, 'public');
  const description = `小区东门路灯不亮（e2e ${Date.now()}）`;
  let code = null;

  await step(`public grid page /g/${PUBLIC_GRID} has the 我要反映问题 form`, () => page, async () => {
    const resp = await page.goto(`${BASE_URL}/g/${PUBLIC_GRID}`);
    assert.ok(resp && resp.ok(), `GET /g/${PUBLIC_GRID} (no login) answered ${resp && resp.status()}`);
    assert.ok((await page.locator('main').innerText()).includes('我要反映问题'), `/g/${PUBLIC_GRID} does not show 我要反映问题`);
    const form = page.locator(`form[action="/g/${PUBLIC_GRID}/report"]`);
    assert.equal(await form.count(), 1, `/g/${PUBLIC_GRID} has no form posting to /g/${PUBLIC_GRID}/report`);
    for (const sel of ['select[name="category"]', 'textarea[name="description"]', 'input[name="phone"]']) {
      assert.equal(await form.locator(sel).count(), 1, `the public report form lacks ${sel}`);
    }
    await shot(page, 'phone-case-15-public-grid');
    await assertNoHorizontalOverflow(page, 'public grid page');
  });

  await step('submit a report: redirected to /track/{CODE}?new=1', () => page, async () => {
    const form = page.locator(`form[action="/g/${PUBLIC_GRID}/report"]`);
    await form.locator('select[name="category"]').selectOption('SQ01');
    await form.locator('textarea[name="description"]').fill(description);
    await form.locator('input[name="phone"]').fill('13912341234');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/track/'), { timeout: 10_000 }).catch(() => {}),
      form.getByRole('button', { name: '提交', exact: true }).click(),
    ]);
    const u = new URL(page.url());
    const m = /^\/track\/([^/]+)$/.exec(u.pathname);
    assert.ok(
      m && u.searchParams.get('new') === '1',
      `after the public report expected /track/{CODE}?new=1, got ${here(page)}; errors: ${JSON.stringify(await texts(page, '.error'))}`,
    );
    code = decodeURIComponent(m[1]);
    const notice = await texts(page, '.notice');
    assert.ok(notice.some((n) => n.includes('已收到您的反映')), `expected notice 已收到您的反映, got ${JSON.stringify(notice)}`);
    const body = await page.locator('main').innerText();
    assert.ok(body.includes(code), `the track page does not show the tracking code ${code}`);
    assert.ok(body.includes(description), `the track page does not show the description`);
    assert.ok(!body.includes('13912341234'), 'the public track page shows the full phone number');
    await shot(page, 'phone-case-16-track-new');
    await assertNoHorizontalOverflow(page, 'track page (new)');
  });

  await step('look the code up on /track', () => page, async () => {
    const resp = await page.goto(`${BASE_URL}/track`);
    assert.ok(resp && resp.ok(), `GET /track answered ${resp && resp.status()}`);
    const form = page.locator('form[action="/track"]');
    await form.locator('input[name="code"]').fill(code);
    await shot(page, 'phone-case-17-track-lookup');
    await assertNoHorizontalOverflow(page, 'track lookup page');
    await Promise.all([
      page.waitForURL((u) => u.pathname === `/track/${code}` || u.pathname === `/track/${encodeURIComponent(code)}`, { timeout: 10_000 }).catch(() => {}),
      form.getByRole('button', { name: '查询' }).click(),
    ]);
    await page.locator('h1').waitFor();
    const errors = await texts(page, '.error');
    assert.deepEqual(errors, [], `looking up ${code} on /track showed an error (now on ${here(page)})`);
    const body = await page.locator('main').innerText();
    assert.ok(body.includes(description), `looking up ${code} led to ${here(page)}, which does not show the description ${JSON.stringify(description)}`);
    await shot(page, 'phone-case-18-track-found');
    await assertNoHorizontalOverflow(page, 'track page (looked up)');
  });
});

test('phone 390px: admin sees 考核排名', { timeout: 20_000 }, async (t) => {
  const { context, page } = await newPhonePage();
  t.after(() => context.close());
  const step = stepper(t, 'assessment');

  await step('assessment table has rows and fits the phone width', () => page, async () => {
    await login(page, 'admin');
    const resp = await page.goto(`${BASE_URL}/console/assessment`);
    assert.ok(resp && resp.ok(), `GET /console/assessment as admin answered ${resp && resp.status()}`);
    assert.ok((await page.locator('h1').innerText()).includes('考核排名'), `/console/assessment has no 考核排名 heading`);
    // The header row is hidden on phones (rows become labelled cards), so read textContent.
    const heads = (await page.locator('table.list thead th').allTextContents()).map((s) => s.trim());
    assert.deepEqual(heads.slice(0, 3), ['排名', '名称', '受理'], `assessment table columns start ${heads.join(' ')}`);
    const rows = await page.locator('table.list tbody tr').filter({ has: page.locator('td[data-label="排名"]') }).count();
    assert.ok(rows > 0, `assessment table on ${here(page)} has no rows: ${JSON.stringify(await page.locator('table.list tbody').innerText())}`);
    await shot(page, 'phone-case-19-assessment');
    await assertNoHorizontalOverflow(page, 'assessment page');
  });
});
