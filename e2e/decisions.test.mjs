// Owners' decisions (业主表决) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): the owner opens the open decision of their compound, votes 同意,
// changes it to 反对; the compound leader opens the paper-ballot entry; the public result page
// shows counts and areas only. Screenshots: e2e/screenshots/decision-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, assertNoHorizontalOverflow, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an owner votes and changes the vote; the committee enters paper ballots; the result is public', async (t) => {
  const owner = await newPage(browser, PHONE, true);
  const committee = await newPage(browser, PHONE, true);
  const step = stepper(t, owner.page);
  let path = '';

  await step('the owner sees their units and the open decision', async () => {
    const page = owner.page;
    await login(page, 'owner');
    await page.goto(`${BASE_URL}/console/decisions`);
    assert.match(await page.locator('#my-units').innerText(), /我的房屋/);
    await assertNoHorizontalOverflow(page, 'the decisions list');
    await shot(page, 'decision-list');
    const open = page.locator('.decisions-list li', { hasText: '表决中' }).first();
    await Promise.all([page.waitForURL(/\/console\/decisions\/[0-9a-f-]{36}/), open.locator('a').first().click()]);
    path = new URL(page.url()).pathname;
    assert.match(await page.locator('#tally').innerText(), /需三分之二以上/);
  });

  await step('votes 同意, then changes to 反对', async () => {
    const page = owner.page;
    await Promise.all([page.waitForURL(/msg=voted/), page.getByRole('button', { name: '同意' }).click()]);
    assert.equal(await page.locator('#my-choice').innerText(), '同意');
    assert.match(await page.locator('#my-vote').innerText(), /更改我的意见/);
    await Promise.all([page.waitForURL(/msg=voted/), page.getByRole('button', { name: '反对' }).click()]);
    assert.equal(await page.locator('#my-choice').innerText(), '反对');
    await assertNoHorizontalOverflow(page, 'the ballot page');
    await shot(page, 'decision-voted');
  });

  await step('the compound leader opens the paper-ballot entry', async () => {
    const page = committee.page;
    await login(page, 'compound');
    await page.goto(`${BASE_URL}${path}`);
    await Promise.all([page.waitForURL(/\/paper$/), page.locator('#paper-link').click()]);
    assert.ok((await page.locator('select[name="unit"] option').count()) > 1, 'the register is offered');
    await assertNoHorizontalOverflow(page, 'the paper-ballot entry');
    await shot(page, 'decision-paper');
  });

  await step('the public result shows counts and areas only', async () => {
    const page = committee.page;
    const code = '411602001001001';
    await page.goto(`${BASE_URL}/g/${code}/decisions/${path.split('/').pop()}`);
    assert.match(await page.locator('#tally').innerText(), /参与表决的业主人数/);
    await assertNoHorizontalOverflow(page, 'the public result');
    await shot(page, 'decision-public');
  });
});
