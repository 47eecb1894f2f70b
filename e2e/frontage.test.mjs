// Frontage responsibility (门前三包) in the browser at 390 px, against a live `gongzhi demo --scale
// small` server: the community worker opens 门前三包 (the street's shops with this month's rate),
// signs a new agreement, opens its printable 责任书; the building officer checks it from the phone
// — a fail without a photo is refused in Chinese, with a photo it is recorded — and the street's
// compliance page lists the shop. No page scrolls sideways or shows an ISO timestamp or an English
// code. Screenshots: e2e/screenshots/frontage-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const CODES = /\b(sanitation|orderliness|greenery|notice|case|none|pass|fail)\b/;
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

test('an agreement signed, printed and checked at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  const shop = `测试门店${Date.now() % 100000}`;
  let url = '';

  await step('the community worker signs an agreement', async () => {
    await login(page, 'community');
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/frontage'), page.getByRole('link', { name: '门前三包' }).first().click()]);
    await checkPage(page, 'the frontage list');
    assert.ok(await page.locator('#frontage-list li.card').count() >= 10, 'the demo\'s shops');
    assert.match(await page.locator('#frontage-rate').innerText(), /%|—/);
    await page.locator('summary', { hasText: '签订新责任书' }).click();
    const form = page.locator('#agreement-form');
    await form.locator('input[name="shop_name"]').fill(shop);
    await form.locator('input[name="address"]').fill('交通路88号');
    await form.locator('input[name="segment"]').fill('交通路88号门前至路沿石');
    await form.locator('input[name="signer_name"]').fill('测试负责人');
    await form.locator('input[name="signer_phone"]').fill('13900001111');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '签订' }).click()]);
    url = new URL(page.url()).pathname;
    await checkPage(page, 'the new agreement');
    assert.match(await page.locator('main').innerText(), /139\*\*\*\*1111/);
    await shot(page, 'frontage-agreement');
  });

  await step('the 责任书 prints with both parties', async () => {
    await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/print')), page.locator('#print-link').click()]);
    const text = await page.locator('#agreement').innerText();
    assert.match(text, /门前三包责任书/);
    assert.match(text, /甲方/);
    assert.match(text, new RegExp(shop));
    await checkPage(page, 'the printable agreement');
    await shot(page, 'frontage-print');
  });

  await step('the building officer checks it: a fail needs a photo', async () => {
    await page.context().clearCookies();
    await login(page, 'building');
    await page.goto(new URL(`${url}/check`, page.url()).href);
    await checkPage(page, 'the check form');
    const form = page.locator('#check-form');
    await form.locator('input[name="sanitation"][value="fail"]').check();
    await form.locator('input[name="orderliness"][value="pass"]').check();
    await form.locator('input[name="greenery"][value="pass"]').check();
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '提交检查' }).click()]);
    assert.match(await page.locator('.error').innerText(), /拍照/);
    await checkPage(page, 'the refused check');
    const again = page.locator('#check-form');
    await again.locator('input[name="sanitation"][value="fail"]').check();
    await again.locator('input[name="orderliness"][value="pass"]').check();
    await again.locator('input[name="greenery"][value="pass"]').check();
    await again.locator('input[name="photo"]').setInputFiles({ name: 'frontage.png', mimeType: 'image/png', buffer: PNG });
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), again.getByRole('button', { name: '提交检查' }).click()]);
    assert.match(await page.locator('main').innerText(), /不合格/);
    await checkPage(page, 'the recorded check');
    await shot(page, 'frontage-checked');
  });

  await step('the street\'s compliance page lists the shop', async () => {
    await page.goto(new URL('/console/frontage/compliance?grid=411602001', page.url()).href);
    await checkPage(page, 'the compliance page');
    assert.match(await page.locator('#compliance-shops').innerText(), new RegExp(shop));
    await shot(page, 'frontage-compliance');
  });
});
