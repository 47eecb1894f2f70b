// Browser test of the command centre's screen (一屏统管): on a 1920×1080 wall and on a 390 px phone,
// the admin lands on it, the map and figures show, the screen subscribes to the event stream, and a
// case reported elsewhere (through the API) moves the figures and the ticker without a reload.
// Drill-down by the children's links. Screenshots: e2e/screenshots/command-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, PASSWORD, PHONE, assertNoHorizontalOverflow, launch, login, newPage, shot, stepper } from './support.mjs';

const WALL = { width: 1920, height: 1080 };
const BUILDING = '411602001001001001';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function apiToken(username) {
  const r = await fetch(`${BASE_URL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function report(token, description) {
  const r = await fetch(`${BASE_URL}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ category: 'SQ01', description, grid: BUILDING }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text);
}

for (const [name, viewport, mobile] of [['wall', WALL, false], ['phone', PHONE, true]]) {
  test(`command centre on the ${name} (${viewport.width}px): live figures without reloading`, { timeout: 90_000 }, async (t) => {
    const { context, page } = await newPage(browser, viewport, mobile);
    const step = stepper(t, page);
    try {
      await step('admin lands on the screen', async () => {
        await login(page, 'admin');
        assert.equal(new URL(page.url()).pathname, '/console/command');
        await page.locator('[data-command]').waitFor();
        assert.ok(await page.locator('.cmd-map svg').isVisible(), 'the map is drawn');
        for (const label of ['今日上报', '办理中', '已超期', '今日结案', '本月按期处置率']) {
          assert.ok(await page.getByText(label, { exact: true }).first().isVisible(), label);
        }
        assert.ok(await page.locator('svg.trend polyline.reported').count() === 1, 'the trend line');
      });
      await step('the screen listens to the event stream', async () => {
        await page.waitForFunction(() => document.querySelector('[data-command]').getAttribute('data-live') === 'sse', null, { timeout: 8_000 });
      });
      await step('a new case moves the figure and the ticker without a reload', async () => {
        const before = Number(await page.locator('[data-fig="reported_today"]').first().textContent());
        const marker = await page.evaluate(() => { window.__noReload = true; return 1; });
        assert.equal(marker, 1);
        const token = await apiToken('building');
        const c = await report(token, `指挥中心浏览器测试 ${name}`);
        await page.waitForFunction(
          (n) => Number(document.querySelector('[data-fig="reported_today"]').textContent) > n,
          before,
          { timeout: 5_000 },
        );
        assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
        const last = await page.locator('[data-command]').getAttribute('data-last-event');
        assert.ok(last && last.includes(c.tracking_code), `the event named the case: ${last}`);
        const first = await page.locator('[data-ticker] li a').first().getAttribute('href');
        assert.equal(first, `/console/cases/${c.id}`, 'the ticker shows it first');
        if (mobile) await assertNoHorizontalOverflow(page, 'the command screen');
        await shot(page, `command-${name}`);
      });
      await step('drill down to a street and a community', async () => {
        await page.locator('.cmd-children a').first().click();
        await page.waitForURL((u) => u.searchParams.get('grid') === '411602001');
        await page.locator('.cmd-children a').first().click();
        await page.waitForURL((u) => u.searchParams.get('grid') === '411602001001');
        assert.ok(await page.getByRole('heading', { name: /一网调度/ }).isVisible());
        if (mobile) await assertNoHorizontalOverflow(page, 'a community screen');
        await shot(page, `command-${name}-community`);
      });
    } finally {
      await context.close();
    }
  });
}
