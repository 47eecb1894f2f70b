// 智能分派 in the browser at 390 px, against a live `gongzhi demo --scale small` server (which
// trains the district's routing model in the background at start): the building officer types a
// report without choosing a category and sees three suggestions with their confidence; a tap fills
// the category. The case page's dispatch form shows unit suggestions for the community's staff.
// Screenshots: e2e/screenshots/routing-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, here, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const TEXT = '楼道里有人从窗户私拉电线给电动车充电，电线横穿过道，晚上一直充';

test('suggestions on the report page at 390 px', { timeout: 240_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);

  await step('typing a report without a category shows three suggestions', async () => {
    await login(page, 'building');
    await page.goto(new URL('/console/cases/new', page.url()).href);
    const box = page.locator('[data-routing-suggest]');
    const picks = box.locator('[data-pick]');
    // The model is trained in the background after the start: type again until it answers.
    const until = Date.now() + 180_000;
    while ((await picks.count()) === 0) {
      assert.ok(Date.now() < until, `no suggestions on ${here(page)} after 180 s`);
      await page.locator('textarea[name="description"]').fill('');
      await page.locator('textarea[name="description"]').fill(TEXT);
      await page.waitForTimeout(2_000);
    }
    assert.equal(await picks.count(), 3);
    const first = await picks.first().innerText();
    assert.match(first, /^飞线充电 · .+ · 置信度 \d+%$/, first);
    const main = await page.locator('main').innerText();
    assert.ok(!ISO.test(main), 'no ISO timestamp');
    await assertNoHorizontalOverflow(page, 'the report page with suggestions');
    await shot(page, 'routing-report');
  });

  await step('a tap picks the category', async () => {
    await page.locator('[data-routing-suggest] [data-pick]').first().click();
    assert.equal(await page.locator('select[name="category"]').inputValue(), 'SQ03');
    assert.ok(await page.locator('[data-routing-suggest]').isHidden());
  });
});
