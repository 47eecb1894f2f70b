// Device alarms (设备告警) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): community staff open the devices list, follow the link to the
// alarms page and see the counts, offline devices and recent alarms; the district admin opens the
// settings. No page scrolls sideways, shows an ISO timestamp or an English code.
// Screenshots: e2e/screenshots/alarms-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, BASE_URL, here, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(opened|merged|unmapped|unknown_device|malformed|case_failed|high_throw|charging|fire_alarm|access_gate|charging_port|invalid_level|kind_not_mapped)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function checkPage(page, what) {
  const text = await page.locator('main').innerText();
  for (const [name, re] of [['an ISO timestamp', ISO], ['an English code', CODES]]) {
    const m = text.match(re);
    assert.ok(!m, `${what} (${here(page)}) shows ${name}: ${m && m[0]}`);
  }
  await assertNoHorizontalOverflow(page, what);
}

test('staff see the alarms and offline devices; the district sees the settings', { timeout: 120_000 }, async (t) => {
  const staff = await newPage(browser, PHONE, true);
  const step = stepper(t, staff.page);

  await step('community staff follow the devices list to the alarms', async () => {
    const page = staff.page;
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/devices`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/alarms'), page.getByRole('link', { name: '设备告警与离线设备' }).click()]);
    await checkPage(page, 'the alarms page');
    assert.match(await page.locator('#alarm-counts').innerText(), /未登记设备编号/);
    assert.ok((await page.locator('#alarm-list li').count()) > 0, 'the demo has alarms');
    assert.ok((await page.locator('#alarm-offline li').count()) > 0, 'a line for offline devices');
    await shot(page, 'alarms-overview');
  });

  await step('the district admin opens the settings', async () => {
    const admin = await newPage(browser, PHONE, true);
    const page = admin.page;
    await login(page, 'admin');
    await page.goto(`${BASE_URL}/console/alarms`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/alarms/settings'), page.getByRole('link', { name: '告警设置' }).click()]);
    await assertNoHorizontalOverflow(page, 'the settings');
    assert.match(await page.locator('main').innerText(), /心跳周期/);
    await shot(page, 'alarms-settings');
  });
});
