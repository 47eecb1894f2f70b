// Renovation consultations (老旧小区改造) in the browser at 390 px, against a live
// `gongzhi demo --scale small` server (e2e/run.sh starts one): the community worker sees the
// projects with their phase and consultation rate, creates one for the first compound, writes and
// publishes a plan with a drawing, moves it to 征求意见 and opens a round; the building officer picks the
// building, a household and records 同意, and reports a problem found in the work as a case.
// Screenshots: e2e/screenshots/renovation-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, assertNoHorizontalOverflow, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const COMPOUND = '411602001001001';
const BUILDING = '411602001001001001';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a renovation project is created, consulted household by household, and a problem becomes a case', async (t) => {
  const title = `阳光小区雨污分流改造 ${Date.now() % 100000}`;
  const staff = await newPage(browser, PHONE, true);
  const head = await newPage(browser, PHONE, true);
  const step = stepper(t, staff.page);
  let path = '';

  await step('the community worker sees the list and creates a project', async () => {
    const page = staff.page;
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/renovation`);
    const items = page.locator('#projects li[data-phase]');
    assert.ok((await items.count()) > 0, 'the demo projects are listed');
    assert.match(await items.first().innerText(), /征求率 \d+\.\d%/);
    await assertNoHorizontalOverflow(page, 'the project list');
    await shot(page, 'renovation-list');
    await page.locator('input[name="title"]').fill(title);
    await page.locator('textarea[name="summary"]').fill('雨污分流、路面修复');
    await page.locator('select[name="compound"]').selectOption(COMPOUND);
    await assertNoHorizontalOverflow(page, 'the create form');
    await Promise.all([page.waitForURL(/\/console\/renovation\/[0-9a-f-]{36}/), page.getByRole('button', { name: '创建项目' }).click()]);
    path = new URL(page.url()).pathname;
    assert.match(await page.locator('.notice').innerText(), /项目已创建/);
    assert.match(await page.locator('#phase').innerText(), /规划/);
  });

  await step('a plan is written and published, the consultation starts and a round opens', async () => {
    const page = staff.page;
    await page.locator('#plan-form textarea[name="text"]').fill('更换雨污管网，修复破损路面。');
    await Promise.all([page.waitForURL(/msg=plan/), page.getByRole('button', { name: '保存方案' }).click()]);
    await page.locator('.rv-upload input[type="file"]').first().setInputFiles({
      name: '总平面图.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n% design drawing\n'),
    });
    await Promise.all([page.waitForURL(/msg=uploaded/), page.getByRole('button', { name: '上传文件' }).first().click()]);
    assert.match(await page.locator('.rv-files').first().innerText(), /总平面图\.pdf/);
    await Promise.all([page.waitForURL(/msg=published/), page.getByRole('button', { name: '公示 v1' }).click()]);
    assert.match(await page.locator('#plans').innerText(), /已公示/);
    await Promise.all([page.waitForURL(/msg=advanced/), page.locator('#advance').click()]);
    assert.match(await page.locator('#phase').innerText(), /征求意见/);
    await Promise.all([page.waitForURL(/msg=opened/), page.locator('#open-round').click()]);
    assert.match(await page.locator('h2', { hasText: '征求意见' }).innerText(), /第1轮/);
    await assertNoHorizontalOverflow(page, 'the project page');
    await shot(page, 'renovation-project');
  });

  await step('the building officer records a household’s view', async () => {
    const page = head.page;
    await login(page, 'building');
    await page.goto(`${BASE_URL}${path}`);
    await page.locator('#building').selectOption(BUILDING);
    await Promise.all([page.waitForURL(/building=/), page.getByRole('button', { name: '选择' }).click()]);
    const options = await page.locator('#household option').count();
    assert.ok(options > 0, 'the building’s households are offered');
    await page.locator('#household').selectOption({ index: 0 });
    await page.locator('input[name="view"][value="agree"]').check();
    await assertNoHorizontalOverflow(page, 'the quick form');
    await shot(page, 'renovation-form');
    await Promise.all([page.waitForURL(/msg=recorded/), page.locator('#record-view').click()]);
    assert.match(await page.locator('.notice').innerText(), /意见已记录/);
    assert.equal((await page.locator('#answered').innerText()).trim(), '1');
    assert.equal((await page.locator('#agree').innerText()).trim(), '1');
    assert.match(await page.locator('#household option').first().innerText(), /同意/);
  });

  await step('a problem found in the work is reported as a case and shows its state', async () => {
    const page = head.page;
    await page.locator('#problem-form select[name="category"]').selectOption('SQ06');
    await page.locator('#problem-form textarea[name="description"]').fill('施工围挡旁有住户圈地种菜');
    await Promise.all([page.waitForURL(/msg=reported/), page.getByRole('button', { name: '上报为案件' }).click()]);
    const item = page.locator('#cases li').first();
    assert.match(await item.innerText(), /圈地种菜/);
    assert.ok((await item.locator('.tag').innerText()).trim().length > 0, 'the case state is shown');
    await assertNoHorizontalOverflow(page, 'the linked cases');
    await shot(page, 'renovation-cases');
  });

  await staff.context.close();
  await head.context.close();
});
