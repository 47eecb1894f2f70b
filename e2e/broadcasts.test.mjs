// Broadcasts (通知) in the browser at 390 px, against a live `gongzhi demo --scale small` server
// (e2e/run.sh starts one): the community worker sends a notice to the buildings of their
// community; the building officer finds it in 待办 and opens it (a read receipt); the sender
// sees the receipt per grid. Screenshots: e2e/screenshots/broadcast-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const COMMUNITY = '411602001001';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a notice goes down the grid, is read in the 待办 and the sender sees the receipt', async (t) => {
  const title = `楼道消防通道清理通知 ${Date.now() % 100000}`;
  const sender = await newPage(browser, PHONE, true);
  const reader = await newPage(browser, PHONE, true);
  const step = stepper(t, sender.page);
  let path = '';

  await step('the community worker sends a notice to the buildings', async () => {
    const page = sender.page;
    await login(page, 'community');
    await page.getByRole('link', { name: '通知' }).first().click();
    await page.waitForURL((u) => u.pathname === '/console/broadcasts');
    await page.locator('select[name="grid"]').selectOption(COMMUNITY);
    await page.locator('input[name="l5"]').check();
    await page.locator('input[name="title"]').fill(title);
    await page.locator('textarea[name="body"]').fill('请各楼栋信息员本周内清理楼道杂物，保持消防通道畅通。');
    await assertNoHorizontalOverflow(page, 'the send form');
    await Promise.all([page.waitForURL(/\/console\/broadcasts\/[0-9a-f-]{36}/), page.getByRole('button', { name: '发送' }).click()]);
    path = new URL(page.url()).pathname;
    assert.match(await page.locator('.notice').innerText(), /已发送/);
    assert.match(await page.locator('#receipt-total').innerText(), /已读 0\/1/);
    await shot(page, 'broadcast-sent');
  });

  await step('the building officer sees it in 待办 and opens it', async () => {
    const page = reader.page;
    await login(page, 'building');
    await page.goto(`${process.env.GONGZHI_E2E_URL.replace(/\/+$/, '')}/console/inbox`);
    const item = page.locator('.bc-inbox li', { hasText: title });
    await assert.doesNotReject(item.waitFor());
    assert.match(await item.innerText(), /未读/);
    await assertNoHorizontalOverflow(page, 'the 待办 with a notice');
    await shot(page, 'broadcast-inbox');
    await Promise.all([page.waitForURL((u) => u.pathname === path), item.getByRole('link', { name: title }).click()]);
    assert.match(await page.locator('.bc-body').first().innerText(), /消防通道/);
    await assertNoHorizontalOverflow(page, 'the notice');
    await shot(page, 'broadcast-read');
  });

  await step('the sender sees the receipt per grid', async () => {
    const page = sender.page;
    await page.reload();
    assert.match(await page.locator('#receipt-total').innerText(), /已读 1\/1/);
    const row = page.locator('table.bc-receipts tbody tr').first();
    assert.match(await row.innerText(), /1/);
    await assertNoHorizontalOverflow(page, 'the receipts');
    await shot(page, 'broadcast-receipts');
  });

  await sender.context.close();
  await reader.context.close();
});
