// Dispute mediation (矛盾纠纷调解) in the browser at 390 px, against a live `gongzhi demo --scale
// small` server: the `mediator` reads the month-by-kind counts, registers a dispute, records a
// session and an agreement, and opens the printable 人民调解协议书 with the parties' names; the
// lists mask the names. No page scrolls sideways or shows an ISO timestamp.
// Screenshots: e2e/screenshots/services-mediation-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, null);

async function act(page, form, button) {
  await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: button }).click()]);
}

test('a dispute mediated to a printable agreement at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  const tag = Date.now() % 100000;

  await step('the mediator reads the counts and registers a dispute', async () => {
    await login(page, 'mediator');
    await page.goto(`${BASE_URL}/console/services/mediation`);
    await checkPage(page, 'the mediation hub');
    assert.ok(await page.locator('#mediation-counts tbody tr').count() > 1, 'months of disputes');
    assert.ok(await page.locator('#mediation-mine li a').count() > 0, 'the demo\'s disputes');
    const form = page.locator('#mediation-new');
    await form.locator('input[name="party1"]').fill('郑春花');
    await form.locator('input[name="party2"]').fill('王秋实');
    await form.locator('textarea[name="summary"]').fill(`楼道堆物引发争执（${tag}）`);
    await act(page, form, '登记');
    await checkPage(page, 'the dispute');
    await shot(page, 'services-mediation-new');
  });

  await step('a session and an agreement, then the printable agreement', async () => {
    const s = page.locator('#mediation-session');
    await s.locator('textarea[name="note"]').fill('分别听取双方陈述');
    await act(page, s, '保存');
    assert.match(await page.locator('#mediation-sessions').innerText(), /分别听取双方陈述/);
    const a = page.locator('#mediation-agree');
    await a.locator('textarea[name="terms"]').fill('郑春花三日内清理楼道杂物，王秋实不再占用楼道');
    await act(page, a, '记录协议');
    assert.match(await page.locator('#mediation-status').innerText(), /达成协议/);
    await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/agreement')), page.locator('#mediation-print').click()]);
    const text = await page.locator('body').innerText();
    assert.match(text, /人民调解协议书/);
    assert.match(text, /郑春花/);
    assert.match(text, /王秋实不再占用楼道/);
    await assertNoHorizontalOverflow(page, 'the agreement');
    await shot(page, 'services-mediation-agreement');
  });

  await step('the lists mask the parties', async () => {
    await page.goto(`${BASE_URL}/console/services/mediation`);
    const mine = await page.locator('#mediation-mine').innerText();
    assert.match(mine, /郑\*\*/);
    assert.ok(!mine.includes('郑春花'));
  });
});
