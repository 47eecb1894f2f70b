// Browser test of the console's frame on a 390 px phone: each demo role signs in, lands on its own
// work, and follows every link of its nav, then again in 长辈版 and on a 1440 px desk; no page answers 403/404/500, shows
// an ISO timestamp, a UUID or an audit code, or scrolls sideways. Then the boundary editor: a dragged point fills the
// form's boundary field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, DISTRICT, PHONE, assertNoHorizontalOverflow, here, launch, login, newPage, shot, stepper } from './support.mjs';

const ROLES = [
  ['admin', '/console/command'],
  ['street', '/console/inbox'],
  ['community', '/console/inbox'],
  ['compound', '/console/inbox'],
  ['building', '/console/inbox'],
  ['department', '/console/inbox'],
  ['property', '/console/inbox'],
  ['resident', '/console/me'],
  ['keeper', '/console/shop'],
];

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const CODE = /\b[a-z]+\.[a-z_]+\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function checkPage(page, resp, who) {
  const status = resp ? resp.status() : 0;
  assert.ok(status === 200, `${who}: ${here(page)} answered ${status}`);
  const text = await page.locator('body').innerText();
  for (const [name, re] of [['an ISO timestamp', ISO], ['a UUID', UUID], ['an audit code', CODE]]) {
    const m = text.match(re);
    assert.ok(!m, `${who}: ${here(page)} shows ${name}: ${m && m[0]}`);
  }
  await assertNoHorizontalOverflow(page, `${who}'s page`);
}

for (const [user, landing] of ROLES) {
  test(`phone 390px: ${user} lands on ${landing} and every nav link opens`, { timeout: 180_000 }, async (t) => {
    const { context, page } = await newPage(browser, PHONE, true);
    t.after(() => context.close());
    const step = stepper(t, page);
    let links = [];

    await step('signs in and lands on its work', async () => {
      await login(page, user);
      assert.equal(new URL(page.url()).pathname, landing, `${user} landed on ${here(page)}`);
      await shot(page, `chrome-${user}-landing`);
      const who = await page.locator('header.top .who a').innerText();
      assert.ok(!who.includes('（'), `the header names the person once: ${who}`);
      links = await page.locator('header.top nav a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent.trim()]));
      assert.ok(links.length > 0, 'a nav');
    });

    await step('every nav link answers 200 and reads as words', async () => {
      for (const [href, label] of [...links, ['/console/me', '我的']]) {
        const resp = await page.goto(`${BASE_URL}${href}`);
        await checkPage(page, resp, `${user} → ${label}`);
      }
    });

    // The same pages in 长辈版: the audit on each load holds them to 18 px text and 60 px targets.
    await step('in 长辈版 every nav page keeps to 18 px text and 60 px targets', async () => {
      await context.addCookies([{ name: 'gz_elder', value: '1', url: BASE_URL }]);
      for (const [href, label] of [...links, ['/console/me', '我的']]) {
        const resp = await page.goto(`${BASE_URL}${href}`);
        assert.ok(await page.evaluate(() => document.documentElement.classList.contains('elder')), `${href} in 长辈版`);
        await checkPage(page, resp, `${user} → ${label} (长辈版)`);
      }
      await shot(page, `chrome-${user}-elder`);
    });

    // And on a desk at 1440 px, where tables are tables again (the audit runs on each load).
    await step('at 1440 px every nav page passes the audit', async () => {
      await context.clearCookies({ name: 'gz_elder' });
      await page.setViewportSize({ width: 1440, height: 900 });
      for (const [href, label] of [...links, ['/console/me', '我的']]) {
        const resp = await page.goto(`${BASE_URL}${href}`);
        assert.equal(resp && resp.status(), 200, `${user} → ${label} at 1440 px`);
      }
    });
  });
}

test('phone 390px: the district drags a boundary point and the form holds the new polygon', { timeout: 60_000 }, async (t) => {
  const { context, page } = await newPage(browser, PHONE, true);
  t.after(() => context.close());
  const step = stepper(t, page);
  await step('the editor moves a point', async () => {
    await login(page, 'admin');
    await page.goto(`${BASE_URL}/console/grids/${DISTRICT}001001`);
    await page.locator('summary', { hasText: '修改网格长或边界' }).click();
    const map = page.locator('svg[data-edit-map]');
    await map.scrollIntoViewIfNeeded();
    const field = page.locator('textarea[name="boundary"]');
    assert.equal(await field.inputValue(), '', 'untouched, the boundary is left as it is');
    const point = page.locator('svg[data-edit-map] circle.edit-point').first();
    const box = await point.boundingBox();
    assert.ok(box, 'the boundary points are drawn');
    const before = await page.locator('svg[data-edit-map] circle.edit-point').count();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 12, box.y + box.height / 2 + 8, { steps: 4 });
    await page.mouse.up();
    const moved = JSON.parse(await field.inputValue());
    assert.equal(moved.type, 'Polygon');
    const ring = moved.coordinates[0];
    assert.equal(ring.length, before + 1, 'the ring is closed and keeps its points');
    assert.deepEqual(ring[0], ring[ring.length - 1]);
    await page.getByRole('button', { name: '在选中点后添加点' }).click();
    assert.equal(JSON.parse(await field.inputValue()).coordinates[0].length, before + 2, 'a point was added');
    await page.getByRole('button', { name: '删除选中点' }).click();
    assert.equal(JSON.parse(await field.inputValue()).coordinates[0].length, before + 1, 'and removed');
    await page.getByRole('button', { name: '还原' }).click();
    assert.equal(await field.inputValue(), '', 'reset leaves the boundary unchanged');
    await shot(page, 'chrome-boundary-editor');
    await assertNoHorizontalOverflow(page, 'grid edit form');
  });
});
