// Campaigns (专项整治行动) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server: the community worker opens 专项行动, the street's 小菜园 drive shows its figures (18
// cleared), its progress line and its ranking; the building officer (a team member) registers a
// spot from the phone with a photo, records a refused visit, then a clearance with the after
// photo, and the spot ledger lists it as cleared. No page scrolls sideways or shows an ISO
// timestamp or an English code. Screenshots: e2e/screenshots/campaigns-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const CODES = /\b(surveyed|persuading|cleared|escalated|consolidated|visit|notice|refused|agreed|vegetable_plots|flying_wires|corridor_clutter|civilised_city|pass|fail)\b/;
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

test('a drive\'s board, and a spot registered, persuaded and cleared at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  let board = '';
  const place = `测试点位${Date.now() % 100000}`;

  await step('the community worker opens the street\'s 小菜园 drive', async () => {
    await login(page, 'community');
    assert.ok((await page.getByRole('link', { name: '专项行动' }).count()) > 0, 'the nav links 专项行动');
    await page.goto(`${BASE_URL}/console/campaigns`);
    await checkPage(page, 'the campaign list');
    const titles = await page.locator('#campaign-list li').allInnerTexts();
    assert.ok(titles.some((x) => x.includes('小菜园')), titles.join(' | '));
    assert.ok(!titles.some((x) => x.includes('空中飞线')), 'not 金桂社区\'s drive');
    await Promise.all([page.waitForURL((u) => /\/console\/campaigns\/[0-9a-f-]{36}$/.test(u.pathname)), page.locator('#campaign-list a', { hasText: '小菜园' }).click()]);
    board = new URL(page.url()).pathname;
    await checkPage(page, 'the board');
    const figures = await page.locator('#campaign-figures').innerText();
    assert.match(figures, /18\s*已清理/, figures);
    assert.match(figures, /82\s*走访人次/, figures);
    assert.equal(await page.locator('#campaign-progress svg polyline').count(), 2);
    assert.ok((await page.locator('#campaign-ranking tbody tr').count()) >= 2);
    await shot(page, 'campaigns-board');
  });

  await step('the building officer registers a spot with a photo', async () => {
    await page.context().clearCookies();
    await login(page, 'building');
    await page.goto(`${BASE_URL}${board}`);
    await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/spots/new')), page.locator('#register-spot').click()]);
    await checkPage(page, 'the spot form');
    const form = page.locator('#spot-new');
    await form.locator('input[name="photo"]').setInputFiles({ name: 'spot.png', mimeType: 'image/png', buffer: PNG });
    await form.locator('input[name="place"]').fill(place);
    await form.locator('input[name="measure"]').fill('１５');
    await form.locator('input[name="party"]').fill('王建国');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '登记' }).click()]);
    await checkPage(page, 'the new spot');
    assert.match(await page.locator('#spot-phase').innerText(), /已摸排/);
    const text = await page.locator('main').innerText();
    assert.match(text, /15m²/);
    assert.match(text, /王\*\*/);
    assert.ok(!text.includes('王建国'), 'the household masked');
    assert.equal(await page.getByRole('link', { name: '现场照片' }).count(), 1);
  });

  await step('a refused visit, then a clearance with the after photo', async () => {
    const visit = page.locator('#act-visit');
    await visit.locator('select[name="outcome"]').selectOption('refused');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), visit.getByRole('button', { name: '记录走访' }).click()]);
    assert.match(await page.locator('#spot-phase').innerText(), /劝导中/);
    assert.match(await page.locator('#spot-steps').innerText(), /上门劝导（2人）：拒绝/);
    const clear = page.locator('#act-clear');
    await clear.locator('select[name="action"]').selectOption('self_cleared');
    await clear.locator('input[name="photo"]').setInputFiles({ name: 'after.png', mimeType: 'image/png', buffer: PNG });
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), clear.getByRole('button', { name: '确认清理' }).click()]);
    await checkPage(page, 'the cleared spot');
    assert.match(await page.locator('#spot-phase').innerText(), /已清理/);
    assert.equal(await page.getByRole('link', { name: '清理后照片' }).count(), 1);
    assert.equal(await page.locator('#act-reinspect').count(), 1, 'only a re-inspection is left');
    await shot(page, 'campaigns-spot');
  });

  await step('the spot ledger lists it as cleared', async () => {
    await page.goto(`${BASE_URL}${board}/spots?phase=cleared`);
    await checkPage(page, 'the spot ledger');
    assert.match(await page.locator('#spot-list').innerText(), new RegExp(place));
    const href = await page.locator('#export-spot-list').getAttribute('href');
    const r = await page.request.get(new URL(href, BASE_URL).toString());
    assert.equal(r.status(), 200, href);
    assert.ok(r.headers()['content-type'].includes('spreadsheetml'));
  });
});

// The 创文 测评 drive: the community worker scores a compound of 阳光社区 item by item on the
// phone — a failed item without its photo is refused in Chinese, with it the result lists the
// failure — then re-checks only what failed, and the place passes.
test('a place scored against the checklist, then re-checked, at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  let board = '';

  await step('the board shows the checklist\'s figures and the map', async () => {
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/campaigns`);
    await Promise.all([page.waitForURL((u) => /\/console\/campaigns\/[0-9a-f-]{36}$/.test(u.pathname)), page.locator('#campaign-list a', { hasText: '文明城市' }).click()]);
    board = new URL(page.url()).pathname;
    await checkPage(page, 'the 创文 board');
    const figures = await page.locator('#checklist-figures').innerText();
    assert.match(figures, /已测评/, figures);
    assert.match(figures, /项目合格率/, figures);
    assert.equal(await page.locator('#checklist-items tbody tr').count(), 8);
    assert.ok((await page.locator('#campaign-map svg a.kid').count()) >= 2, 'the map shows the street\'s communities');
  });

  await step('a failed item without its photo is refused; with it the inspection is kept', async () => {
    await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/inspections/new')), page.locator('#start-inspection').first().click()]);
    await checkPage(page, 'the inspection form');
    const form = page.locator('#inspect-form');
    await form.locator('select[name="grid"]').selectOption({ index: 1 });
    const items = form.locator('fieldset.inspect-item');
    const n = await items.count();
    assert.equal(n, 8);
    for (let i = 0; i < n; i++) {
      await items.nth(i).getByLabel(i === 2 ? '不合格' : '合格', { exact: true }).check();
    }
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '提交测评' }).click()]);
    await checkPage(page, 'the refused inspection');
    assert.match(await page.locator('#inspect-error').innerText(), /不合格，请拍照留证/);
    const again = page.locator('#inspect-form');
    const rows = again.locator('fieldset.inspect-item');
    for (let i = 0; i < n; i++) {
      await rows.nth(i).getByLabel(i === 2 ? '不合格' : '合格', { exact: true }).check();
    }
    await rows.nth(2).locator('input[type="file"]').setInputFiles({ name: 'fail.png', mimeType: 'image/png', buffer: PNG });
    await rows.nth(2).locator('input[name^="note_"]').fill('宣传栏破损');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), again.getByRole('button', { name: '提交测评' }).click()]);
    await checkPage(page, 'the inspection');
    assert.match(await page.locator('#inspection-score').innerText(), /不合格 1 项/);
    assert.match(await page.locator('#inspection-marks').innerText(), /宣传栏破损/);
    assert.equal(await page.getByRole('link', { name: '查看照片' }).count(), 1);
    await shot(page, 'campaigns-inspection');
  });

  await step('the re-check scores only the failed item, and the place passes', async () => {
    await Promise.all([page.waitForURL((u) => u.searchParams.has('recheck')), page.locator('#recheck').click()]);
    await checkPage(page, 'the re-check form');
    const items = page.locator('#inspect-form fieldset.inspect-item');
    assert.equal(await items.count(), 1);
    await items.first().getByLabel('合格', { exact: true }).check();
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), page.getByRole('button', { name: '提交复查' }).click()]);
    await checkPage(page, 'the re-check');
    assert.match(await page.locator('#inspection-score').innerText(), /全部合格/);
    assert.equal(await page.locator('#recheck').count(), 0, 'nothing left to re-check');
    await page.goto(`${BASE_URL}${board}/inspections`);
    await checkPage(page, 'the inspection list');
    assert.ok((await page.locator('#inspection-list li').count()) >= 1);
  });
});
