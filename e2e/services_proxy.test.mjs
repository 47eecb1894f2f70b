// Red proxy service (红色代办) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server: the `agent` registers a matter for an elderly resident and reads the slip's code, takes
// it, records a document handed over with the person's code, cannot close it while the document
// is held (refused in Chinese), gives it back, sees a wrong code refused, confirms with the right
// one, closes the matter and enters the person's rating. No page scrolls sideways or shows an ISO
// timestamp or an English code. Screenshots: e2e/screenshots/services-proxy-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(offered|held|return_offered|returned|open|taken|done|in_person|phone|building_officer|documents_held)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

async function act(page, form, button, ok) {
  await Promise.all([page.waitForURL((u) => u.searchParams.has(ok ? 'msg' : 'err')), form.getByRole('button', { name: button }).click()]);
}

test('a matter with a document handed over and returned at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  let code = '';

  await step('the agent registers a matter and reads the slip code', async () => {
    await login(page, 'agent');
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/services'), page.getByRole('link', { name: '为民服务' }).first().click()]);
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/services/proxy'), page.getByRole('link', { name: '红色代办' }).click()]);
    await checkPage(page, 'the agent\'s list');
    assert.ok(await page.locator('#proxy-mine li.card').count() >= 3, 'the demo\'s matters in hand');
    const form = page.locator('#proxy-new');
    await act(page, form, '登记', true);
    const notice = await page.locator('#proxy-notice').innerText();
    code = notice.match(/确认码：(\d{6})/)[1];
    await checkPage(page, 'the new matter');
    const take = page.locator('form', { has: page.locator('input[value="take"]') });
    await act(page, take, '领办', true);
    assert.match(await page.locator('#proxy-status').innerText(), /办理中/);
  });

  await step('a document is handed over; the matter cannot close while it is held', async () => {
    const hand = page.locator('#proxy-hand');
    await hand.locator('input[name="name"]').fill('身份证原件');
    await hand.locator('input[name="code"]').fill(code);
    await act(page, hand, '登记接收', true);
    assert.match(await page.locator('#proxy-docs').innerText(), /代办员保管中/);
    await act(page, page.locator('#proxy-done'), '办结', false);
    assert.match(await page.locator('.error').innerText(), /未经本人确认归还/);
    await checkPage(page, 'closing refused');
    await shot(page, 'services-proxy-held');
  });

  await step('the return waits for the person\'s code', async () => {
    const back = page.locator('#proxy-docs form').first();
    await act(page, back, '归还', true);
    assert.match(await page.locator('#proxy-docs').innerText(), /待本人确认收回/);
    const confirm = page.locator('#proxy-docs form').first();
    await confirm.locator('input[name="code"]').fill(code === '000000' ? '111111' : '000000');
    await act(page, confirm, '居民确认', false);
    assert.match(await page.locator('.error').innerText(), /确认码不对/);
    const again = page.locator('#proxy-docs form').first();
    await again.locator('input[name="code"]').fill(code);
    await act(page, again, '居民确认', true);
    assert.match(await page.locator('#proxy-docs').innerText(), /已归还本人/);
  });

  await step('the matter closes and the person rates it', async () => {
    await act(page, page.locator('#proxy-done'), '办结', true);
    assert.match(await page.locator('#proxy-status').innerText(), /已办结/);
    const rate = page.locator('#proxy-rate');
    await rate.locator('input[name="code"]').fill(code);
    await act(page, rate, '保存评价', true);
    assert.match(await page.locator('main').innerText(), /居民评价：5 星/);
    await checkPage(page, 'the rated matter');
    await shot(page, 'services-proxy-done');
  });
});
