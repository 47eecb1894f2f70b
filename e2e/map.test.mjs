// The labelled map, on a phone and on a wall: the admin opens the first street at 390 px and at
// 1920 px; every community on the map has a visible label inside its own area, at a legible size
// (at least 10 px on the phone), the base layers lie under the grid, and a click on an area drills
// down to that community. Screenshots: e2e/screenshots/phone-map-street.png, wall-map-street.png.
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/map.test.mjs   (or e2e/run.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, DISTRICT, PHONE, assertNoHorizontalOverflow, launch, login, newPage, shot, stepper } from './support.mjs';

const STREET = `${DISTRICT}001`;
const WALL = { width: 1920, height: 1080 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

for (const [label, viewport, mobile, minPx] of [
  ['phone', PHONE, true, 10],
  ['wall', WALL, false, 14],
]) {
  test(`every area is labelled legibly and drills down (${label}, ${viewport.width} px)`, async (t) => {
    const { context, page } = await newPage(browser, viewport, mobile);
    const step = stepper(t, page);
    t.after(() => context.close());
    const map = page.locator('svg.area-map').first();

    await step('the admin opens the first street', async () => {
      await login(page, 'admin');
      const resp = await page.goto(`${BASE_URL}/console/grids/${STREET}`);
      assert.equal(resp.status(), 200);
      await map.waitFor({ state: 'visible' });
      await map.scrollIntoViewIfNeeded();
      assert.equal(await map.getAttribute('role'), 'group', 'links inside: a group, not an image');
    });

    await step('each area has its label inside it, big enough to read', async () => {
      const areas = map.locator('a.kid');
      const labels = map.locator('g.labels text:not(.note)');
      const n = await areas.count();
      assert.ok(n >= 2, `areas on the map: ${n}`);
      assert.equal(await labels.count(), n, 'one label per area');
      for (let i = 0; i < n; i++) {
        const name = await areas.nth(i).getAttribute('aria-label');
        const box = await labels.nth(i).boundingBox();
        assert.ok(box, `label of ${name} is rendered`);
        assert.ok(box.height >= minPx, `label of ${name} is ${box.height.toFixed(1)} px high (< ${minPx})`);
        // The label's centre lies in its own area: the element there (labels let clicks through) is its path.
        const cx = box.x + box.width / 2;
        const cy = box.y + box.height / 2;
        const hit = await page.evaluate(([x, y]) => {
          const el = document.elementFromPoint(x, y);
          const a = el && el.closest('a.kid');
          return a ? a.getAttribute('aria-label') : null;
        }, [cx, cy]);
        assert.equal(hit, name, `the label of ${name} sits in its area`);
      }
      const base = map.locator('g.base');
      assert.equal(await base.count(), 1, 'base layers drawn');
      await shot(page, `${label}-map-street`);
      if (mobile) await assertNoHorizontalOverflow(page, 'street page with its map');
    });

    await step('a click on an area opens that community', async () => {
      const first = map.locator('a.kid').first();
      const href = await first.getAttribute('href');
      const box = await map.locator('g.labels text:not(.note)').first().boundingBox();
      await Promise.all([page.waitForURL((u) => u.pathname === href), page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)]);
      assert.match(new URL(page.url()).pathname, new RegExp(`^/console/grids/${STREET}\\d{3}$`));
    });
  });
}
