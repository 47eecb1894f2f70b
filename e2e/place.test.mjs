// Where a case is, on the phone: the building officer opens a demo case of their building at
// 390 px and sees its full place (street › community › compound › building), the server-drawn map
// with the point inside the view, the 导航 link to the point, and the answers to the category's
// questions, with nothing scrolling sideways. Screenshot: e2e/screenshots/phone-case-place.png.
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/place.test.mjs   (or e2e/run.sh)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, PHONE, assertNoHorizontalOverflow, launch, login, newPage, shot, stepper } from './support.mjs';

const BUILDING = '411602001001001001'; // the `building` officer's building

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a demo case shows where it is at 390 px', async (t) => {
  const { context, page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  let item;

  await step('the officer signs in and picks a located demo case of their building', async () => {
    await login(page, 'building');
    // The console's cookie reads the API; 飞线充电 (SQ03) asks 所在楼层 and 车辆类型.
    const r = await page.request.get(`${BASE_URL}/api/v1/cases?grid=${BUILDING}&category=SQ03&per_page=100`);
    assert.equal(r.status(), 200, `case list answered ${r.status()}`);
    const list = await r.json();
    item = list.items.find((c) => c.lat != null && c.lng != null);
    assert.ok(item, `a located 飞线充电 case in ${BUILDING} among ${list.items.length}`);
    const resp = await page.goto(`${BASE_URL}/console/cases/${item.id}`);
    assert.equal(resp.status(), 200);
  });

  await step('the full place is shown: street › community › compound › building', async () => {
    const path = page.locator('.place-path');
    await path.waitFor({ state: 'visible' });
    const parts = (await path.innerText()).split('›').map((s) => s.trim());
    assert.equal(parts.length, 4, `four levels in "${parts.join(' › ')}"`);
    assert.equal(parts[3], item.grid.name, 'ends with the case’s building');
    assert.ok(parts.every((p) => p.length > 0));
  });

  await step('the map is visible and its pin lies inside it', async () => {
    const map = page.locator('svg.case-map');
    await map.waitFor({ state: 'visible' });
    const pin = map.locator('g.pin circle').last();
    await pin.waitFor({ state: 'visible' });
    const m = await map.boundingBox();
    const p = await pin.boundingBox();
    assert.ok(m.width > 200 && m.height > 100, `a readable map: ${m.width}x${m.height}`);
    const cx = p.x + p.width / 2;
    const cy = p.y + p.height / 2;
    assert.ok(cx > m.x && cx < m.x + m.width && cy > m.y && cy < m.y + m.height, `pin ${cx},${cy} inside the map ${JSON.stringify(m)}`);
    assert.ok(m.x >= 0 && m.x + m.width <= PHONE.width + 1, 'the map fits the screen');
  });

  await step('the 导航 link opens the point in the phone’s map app', async () => {
    const nav = page.getByRole('link', { name: '导航' });
    await nav.waitFor({ state: 'visible' });
    const href = await nav.getAttribute('href');
    const lat = item.lat.toFixed(6);
    const lng = item.lng.toFixed(6);
    assert.ok(href.startsWith(`geo:${lat},${lng}?q=${lat},${lng}(`) && href.endsWith(')'), href);
    const box = await nav.boundingBox();
    assert.ok(box.height >= 30, `a tappable link: ${box.height}px tall`);
  });

  await step('the category’s questions are answered on the page', async () => {
    for (const q of ['所在楼层', '车辆类型']) {
      await page.locator('dl.kv dt', { hasText: q }).first().waitFor({ state: 'visible' });
    }
  });

  await step('nothing scrolls sideways', async () => {
    await assertNoHorizontalOverflow(page, 'the case page');
    await shot(page, 'phone-case-place');
  });

  await context.close();
});
