// Phone ergonomics at 390 px: every input, select and textarea at 16 px or more (iOS zooms into a
// smaller one), every visible button and link in the header and in forms at least 44 px tall;
// then a resident reports through the public grid page /g/{code} with a photo and the phone's
// position, and rates the closed case on /track with the star choices.
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/phone.test.mjs   (or e2e/run.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, PASSWORD, PHONE, assertNoHorizontalOverflow, here, launch, login, shot, stepper } from './support.mjs';

const GRID = '411602001001001002'; // building 2 of the demo's first compound
// A real 1x1 PNG: the server recognises photos by their bytes.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function phoneContext(extra = {}) {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN', ...extra });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  page.setDefaultNavigationTimeout(15_000);
  return { context, page };
}

// The API, as the district admin or the department, to set up and drive the case.
async function api(method, path, token, body) {
  const r = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function token(username) {
  const r = await api('POST', '/api/v1/auth/login', null, { username, password: PASSWORD });
  assert.equal(r.status, 200, `API login as ${username} answered ${r.status}`);
  return r.json.token;
}

// Font sizes of every input/select/textarea, and the height of every visible button and link in
// the header and in forms (a check box or radio counts by the label around it); names offenders.
async function assertPhoneErgonomics(page, what) {
  const r = await page.evaluate(() => {
    const label = (el) => {
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.closest('label')?.innerText || '').trim().replace(/\s+/g, ' ');
      return `${el.tagName.toLowerCase()}${el.type ? `[type=${el.type}]` : ''}${el.name ? `[name=${el.name}]` : ''} "${text.slice(0, 16)}"`;
    };
    const shown = (el) => {
      const b = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      return b.width > 0 && b.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none';
    };
    const small = [];
    const fields = [...document.querySelectorAll('input, select, textarea')].filter((el) => el.type !== 'hidden');
    for (const el of fields) {
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (!(px >= 16)) small.push(`${label(el)} ${px}px`);
    }
    const short = [];
    const targets = new Set(document.querySelectorAll('header a, header button, .crumbs a, a.tel, form a, form button, form input:not([type=hidden]), form select, form textarea, form label.check'));
    let measured = 0;
    for (const el of targets) {
      if (!shown(el)) continue;
      const box = el.matches('input[type=checkbox], input[type=radio]') ? el.closest('label') || el : el;
      const h = box.getBoundingClientRect().height;
      measured += 1;
      if (h < 43.5) short.push(`${label(el)} ${Math.round(h * 10) / 10}px`);
    }
    return { small, short, fields: fields.length, measured };
  });
  assert.ok(r.measured > 0, `${what} (${here(page)}): no buttons or links measured`);
  assert.deepEqual(r.small, [], `${what} (${here(page)}): inputs under 16px (iOS zooms on focus): ${r.small.join('; ')}`);
  assert.deepEqual(r.short, [], `${what} (${here(page)}): tap targets under 44px tall: ${r.short.join('; ')}`);
}

test('phone 390px: inputs 16px, tap targets 44px; report on /g with a photo and the location; rate on /track', { timeout: 60_000 }, async (t) => {
  const admin = await token('admin');
  const grid = await api('GET', `/api/v1/grids/${GRID}`, admin);
  assert.equal(grid.status, 200, `GET /api/v1/grids/${GRID} answered ${grid.status}`);
  const { lat, lng } = grid.json.center;
  // The resident's phone shares a position inside the building's grid.
  const { context, page } = await phoneContext({ geolocation: { latitude: lat, longitude: lng }, permissions: ['geolocation'] });
  t.after(() => context.close());
  const step = stepper(t, page);
  const description = `楼道灯坏了，晚上看不见台阶（phone e2e ${Date.now()}）`;
  let code = null;

  await step('the officer’s console form and header are phone-sized', async () => {
    await login(page, 'building');
    for (const path of ['/console/cases/new', '/console/cases']) {
      const resp = await page.goto(`${BASE_URL}${path}`);
      assert.ok(resp && resp.ok(), `GET ${path} answered ${resp && resp.status()}`);
      await assertPhoneErgonomics(page, path);
      await assertNoHorizontalOverflow(page, path);
    }
    const groups = await page.goto(`${BASE_URL}/console/cases/new`).then(() => page.locator('select[name="category"] optgroup').evaluateAll((gs) => gs.map((g) => g.label)));
    assert.ok(groups.includes('社区治理') && groups.includes('事件'), `the category list is not grouped by 大类: ${JSON.stringify(groups)}`);
    await shot(page, 'phone-ergo-01-report-form');
    await context.clearCookies();
  });

  await step(`/g/${GRID} names the place, picks no category, and is phone-sized`, async () => {
    const resp = await page.goto(`${BASE_URL}/g/${GRID}`);
    assert.ok(resp && resp.ok(), `GET /g/${GRID} answered ${resp && resp.status()}`);
    const title = await page.title();
    assert.match(title, / · .+街道/, `the page title names no street: ${title}`);
    const form = page.locator(`form[action="/g/${GRID}/report"]`);
    assert.equal(await form.locator('select[name="category"]').inputValue(), '', 'a category is preselected');
    await assertPhoneErgonomics(page, 'public grid page');
    await assertNoHorizontalOverflow(page, 'public grid page');
  });

  await step('a resident reports with a photo and 使用当前位置', async () => {
    const form = page.locator(`form[action="/g/${GRID}/report"]`);
    await form.getByRole('button', { name: '使用当前位置' }).click();
    await page.waitForFunction(() => document.getElementById('lat').value !== '', null, { timeout: 5_000 });
    const got = Number(await form.locator('input[name="lat"]').inputValue());
    assert.ok(Math.abs(got - lat) < 1e-5, `lat field holds ${got}, the phone is at ${lat}`);
    assert.match(await page.locator('#locate-status').innerText(), /已定位/);
    await form.locator('select[name="category"]').selectOption('SQ01');
    await form.locator('textarea[name="description"]').fill(description);
    await form.locator('input[name="photo"]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG });
    await shot(page, 'phone-ergo-02-public-report');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/track/'), { timeout: 10_000 }).catch(() => {}),
      form.getByRole('button', { name: '提交', exact: true }).click(),
    ]);
    const u = new URL(page.url());
    const m = /^\/track\/([^/]+)$/.exec(u.pathname);
    assert.ok(m && u.searchParams.get('new') === '1', `expected /track/{CODE}?new=1, got ${here(page)}; errors: ${JSON.stringify(await page.locator('.error').allInnerTexts())}`);
    code = decodeURIComponent(m[1]);
  });

  let caseId = null;
  await step('the case carries the photo and the position', async () => {
    const list = await api('GET', `/api/v1/cases?grid=${GRID}&per_page=50`, admin);
    const found = list.json.items.find((c) => c.tracking_code === code);
    assert.ok(found, `case ${code} not on the board of ${GRID}`);
    caseId = found.id;
    const c = await api('GET', `/api/v1/cases/${caseId}`, admin);
    assert.equal(c.json.attachments.length, 1, `case ${code} has ${c.json.attachments.length} photos`);
    assert.equal(c.json.attachments[0].mime, 'image/png');
    assert.ok(Math.abs(c.json.lat - lat) < 1e-5 && Math.abs(c.json.lng - lng) < 1e-5, `case position ${c.json.lat},${c.json.lng}, phone at ${lat},${lng}`);
  });

  await step('closed by the grid, /track names the unit and offers the stars', async () => {
    const dept = await token('department');
    const units = await api('GET', `/api/v1/units?kind=department&q=${encodeURIComponent('区城市管理局')}`, admin);
    const unit = units.json.items[0].id;
    for (const [who, body] of [
      [admin, { action: 'accept' }],
      [admin, { action: 'dispatch', unit }],
      [dept, { action: 'start' }],
      [dept, { action: 'handle', note: '已更换楼道灯' }],
      [admin, { action: 'verify' }],
      [admin, { action: 'close' }],
    ]) {
      const r = await api('POST', `/api/v1/cases/${caseId}/actions`, who, body);
      assert.equal(r.status, 200, `${body.action} answered ${r.status}: ${JSON.stringify(r.json)}`);
    }
    await page.goto(`${BASE_URL}/track/${code}`);
    const body = await page.locator('main').innerText();
    assert.ok(body.includes('承办单位') && body.includes('区城市管理局'), `/track does not name the unit: ${body.slice(0, 300)}`);
    for (const choice of ['满意', '基本满意', '不满意']) {
      const box = await page.locator('fieldset.stars label', { hasText: choice }).first().boundingBox();
      assert.ok(box && box.height >= 44, `the ${choice} choice is ${box && box.height}px tall`);
    }
    await assertPhoneErgonomics(page, 'track page (rating form)');
    await assertNoHorizontalOverflow(page, 'track page (rating form)');
    await shot(page, 'phone-ergo-03-track-rate');
  });

  await step('rating 满意 with a comment redirects, and a refresh sends nothing again', async () => {
    await page.locator('fieldset.stars label', { hasText: /^★★★ 满意$/ }).click();
    await page.locator('textarea[name="comment"]').fill('师傅来得很快');
    const posts = [];
    page.on('request', (r) => r.method() === 'POST' && posts.push(r.url()));
    await Promise.all([
      page.waitForURL((u) => u.searchParams.has('rated'), { timeout: 10_000 }).catch(() => {}),
      page.getByRole('button', { name: '提交评价' }).click(),
    ]);
    assert.equal(here(page), `/track/${code}?rated=1`, `after rating expected /track/${code}?rated=1`);
    assert.ok((await page.locator('.notice').innerText()).includes('感谢您的评价'));
    await page.reload();
    assert.equal(posts.length, 1, `the refresh posted again: ${posts.join(', ')}`);
    const body = await page.locator('main').innerText();
    assert.ok(body.includes('满意：师傅来得很快'), `the rating and comment are not on the timeline: ${body}`);
    assert.equal(await page.locator('.error').count(), 0, 'the refreshed page shows an error');
    assert.equal(await page.locator('input[name="rating"]').count(), 0, 'the rating form is still offered');
    await shot(page, 'phone-ergo-04-track-rated');
  });
});
