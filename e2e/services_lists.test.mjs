// The four lists (四张清单) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): the community opens the board from 为民服务, records a need (an
// over-long one refused in Chinese), a resource, a project answering the need with the resource,
// and its result — the need then shows 已满足; a resident adds a need of their own. No page scrolls
// sideways, shows an ISO timestamp or an English code. Screenshots: e2e/screenshots/lists-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(waiting|planned|met|meals_bathing|daily_care|legal_aid|urgent|normal|volunteer_team|party_member|merchant)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

test('the community matches a need to a resource and records the result; a resident asks', { timeout: 120_000 }, async (t) => {
  const staff = await newPage(browser, PHONE, true);
  const resident = await newPage(browser, PHONE, true);
  const step = stepper(t, staff.page);
  const tag = Date.now() % 100000;

  await step('the board from the hub shows needs waiting and resources unused', async () => {
    const page = staff.page;
    await login(page, 'community');
    await page.getByRole('link', { name: '为民服务' }).first().click();
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/services/lists'), page.getByRole('link', { name: '四张清单' }).click()]);
    await checkPage(page, 'the board');
    assert.ok(await page.locator('#needs-waiting li').count() > 0, 'needs waiting');
    assert.match(await page.locator('#resources-unused').innerText(), /未使用/);
    assert.ok(await page.locator('#projects li[data-project]').count() > 0, 'projects');
    await shot(page, 'lists-board');
  });

  await step('a need: too long refused, then recorded', async () => {
    const page = staff.page;
    const form = page.locator('#add-need');
    await form.locator('summary').click();
    await form.locator('select[name="kind"]').selectOption({ label: '助餐助浴' });
    await form.locator('textarea[name="description"]').evaluate((el) => el.removeAttribute('maxlength'));
    await form.locator('textarea[name="description"]').fill('长'.repeat(501));
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '登记需求' }).click()]);
    assert.match(await page.locator('.error').innerText(), /需求描述不能超过500个字/);
    const again = page.locator('#add-need');
    await again.locator('summary').click();
    await again.locator('select[name="kind"]').selectOption({ label: '助餐助浴' });
    await again.locator('textarea[name="description"]').fill(`独居老人需要送餐（${tag}）`);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), again.getByRole('button', { name: '登记需求' }).click()]);
    assert.match(await page.locator('#needs-waiting').innerText(), new RegExp(`独居老人需要送餐（${tag}）`));
  });

  await step('a resource, a project linking both, and its result', async () => {
    const page = staff.page;
    const r = page.locator('#add-resource');
    await r.locator('summary').click();
    await r.locator('select[name="provider_kind"]').selectOption({ label: '商户' });
    await r.locator('input[name="provider"]').fill(`爱心餐厅${tag}`);
    await r.locator('select[name="kind"]').selectOption({ label: '助餐助浴' });
    await r.locator('input[name="capacity"]').fill('３０');
    await r.locator('input[name="period"]').fill('每天中午');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), r.getByRole('button', { name: '登记资源' }).click()]);
    assert.match(await page.locator('#resources-unused').innerText(), new RegExp(`爱心餐厅${tag}`));
    const j = page.locator('#add-project');
    await j.locator('summary').click();
    await j.locator('input[name="name"]').fill(`助餐到家${tag}`);
    await j.locator('input[name="owner"]').fill('社区书记');
    await j.locator('label', { hasText: `独居老人需要送餐（${tag}）` }).locator('input').check();
    await j.locator('label', { hasText: `爱心餐厅${tag}` }).locator('input').check();
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), j.getByRole('button', { name: '建立项目' }).click()]);
    const project = page.locator('#projects li', { hasText: `助餐到家${tag}` });
    assert.match(await project.innerText(), /实施中/);
    await project.locator('summary', { hasText: '登记成果' }).click();
    await project.locator('textarea[name="delivered"]').fill('每天中午送餐上门');
    await project.locator('input[name="people"]').fill('12');
    await project.locator('input[name="rating"]').fill('5');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), project.getByRole('button', { name: '保存成果' }).click()]);
    const done = page.locator('#projects li', { hasText: `助餐到家${tag}` });
    assert.match(await done.innerText(), /已出成果/);
    assert.match(await done.innerText(), /服务 12 人次/);
    assert.doesNotMatch(await page.locator('#needs-waiting').innerText(), new RegExp(`独居老人需要送餐（${tag}）`));
    assert.match(await page.locator('#needs-other').textContent(), new RegExp(`已满足\\s+助餐助浴\\s+独居老人需要送餐（${tag}）`));
    await checkPage(page, 'the board after the result');
    await shot(page, 'lists-project');
  });

  await step('a resident adds a need of their own', async () => {
    const page = resident.page;
    await login(page, 'resident');
    await page.goto(`${BASE_URL}/console/services/lists`);
    await page.locator('#need-form select[name="kind"]').selectOption({ label: '维修改造' });
    await page.locator('#need-form textarea[name="description"]').fill(`家中水管漏水（${tag}）`);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), page.getByRole('button', { name: '提交需求' }).click()]);
    assert.match(await page.locator('#my-needs').innerText(), new RegExp(`待对接资源\\s+维修改造\\s+家中水管漏水（${tag}）`));
    await checkPage(page, 'my needs');
    await shot(page, 'lists-resident');
  });
});
