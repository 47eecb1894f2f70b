// Excel ledgers (台账) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server: the community's residents page links 导出Excel with its filters and the file is an
// .xlsx; 批量导入 opens the imports page, the template downloads, a file that is not an .xlsx is
// refused in Chinese, the exported ledger (which lacks the 单元/房号 columns) is checked and its
// bad rows are shown in a table, and the empty template passes the check. No page scrolls
// sideways or shows an ISO timestamp. Screenshots: e2e/screenshots/ledgers-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, BASE_URL, here, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function checkPage(page, what) {
  const text = await page.locator('main').innerText();
  const m = text.match(ISO);
  assert.ok(!m, `${what} (${here(page)}) shows an ISO timestamp: ${m && m[0]}`);
  await assertNoHorizontalOverflow(page, what);
}

async function download(page, href) {
  const r = await page.request.get(new URL(href, BASE_URL).toString());
  assert.equal(r.status(), 200, `GET ${href}`);
  assert.ok(r.headers()['content-type'].includes('spreadsheetml'), `${href} is an .xlsx`);
  const body = await r.body();
  assert.equal(body.subarray(0, 2).toString(), 'PK', `${href} is a zip`);
  return body;
}

async function check(page, name, buffer, mimeType = XLSX) {
  await page.locator('#import-file').setInputFiles({ name, mimeType, buffer });
  await page.locator('#import-check').click();
  await page.waitForFunction(() => {
    const s = document.getElementById('import-status').textContent;
    return s && !s.startsWith('正在上传') && !s.startsWith('已上传');
  });
  return page.locator('#import-status').innerText();
}

test('export a filtered residents ledger and check imports at 390 px', { timeout: 120_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);
  let ledger;

  await step('the residents page links its filtered Excel ledger', async () => {
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/residents?tag=${encodeURIComponent('党员')}`);
    await checkPage(page, 'residents');
    const href = await page.locator('#export-residents').getAttribute('href');
    assert.ok(href.startsWith('/api/v1/exports/residents.xlsx?grid=411602001001'), href);
    assert.ok(href.includes(`tag=${encodeURIComponent('党员')}`), `the filter is kept: ${href}`);
    ledger = await download(page, href);
    await shot(page, 'ledgers-residents');
  });

  await step('批量导入 opens the imports page with a template to download', async () => {
    await page.getByRole('link', { name: '批量导入' }).click();
    await page.waitForURL((u) => u.pathname === '/console/imports');
    await checkPage(page, 'imports');
    assert.match(await page.locator('#import-columns').innerText(), /姓名＊/);
    const tpl = await page.locator('#import-template').getAttribute('href');
    assert.equal(tpl, '/api/v1/imports/residents/template.xlsx');
    await download(page, tpl);
  });

  await step('a file that is not an .xlsx is refused in Chinese', async () => {
    const said = await check(page, 'residents.csv', Buffer.from('姓名,身份证号\n'), 'text/csv');
    assert.match(said, /请上传Excel工作簿/);
  });

  await step('a file with bad rows shows each of them in a table', async () => {
    const said = await check(page, 'export.xlsx', ledger);
    assert.match(said, /未保存任何一行/);
    const rows = page.locator('#import-error-table tbody tr');
    assert.ok((await rows.count()) >= 2, 'the missing 单元 and 房号 columns');
    assert.match(await rows.first().innerText(), /缺少必填列/);
    await checkPage(page, 'imports with errors');
    await shot(page, 'ledgers-import-errors');
  });

  await step('the empty template passes the check', async () => {
    const tpl = await download(page, '/api/v1/imports/residents/template.xlsx');
    const said = await check(page, 'template.xlsx', tpl);
    assert.match(said, /检查通过：共0行/);
    assert.ok(await page.locator('#import-errors').isHidden());
  });
});

test('every list page links its Excel ledger, and the file downloads', { timeout: 180_000 }, async (t) => {
  const { page } = await newPage(browser, PHONE, true);
  const step = stepper(t, page);

  await step('the community: party members, the four lists, proxy matters, volunteers\' hours, alarms', async () => {
    await login(page, 'community');
    for (const [path, selector, ledger] of [
      ['/console/party', '#export-party-members', 'party_members'],
      ['/console/party?status=unreported', '#export-party-members', 'party_members.xlsx?status=unreported'],
      ['/console/services/lists', '#export-lists a:first-child', 'needs.xlsx?grid=411602001001'],
      ['/console/services/lists', '#export-lists a:last-child', 'results.xlsx?grid=411602001001'],
      ['/console/services/proxy', '#export-proxy', 'proxy_matters'],
      ['/console/points', '#export-points-volunteers', 'volunteers.xlsx?grid='],
      ['/console/alarms', '#export-alarms', 'alarms.xlsx?grid='],
      ['/console/services/care', '#export-care', 'care_due'],
    ]) {
      await page.goto(`${BASE_URL}${path}`);
      await checkPage(page, path);
      const link = page.locator(selector);
      assert.match(await link.innerText(), /导出/, `${path}: ${selector}`);
      const href = await link.getAttribute('href');
      assert.ok(href.startsWith(`/api/v1/exports/${ledger}`), `${path}: ${href}`);
      await download(page, href);
    }
    await shot(page, 'ledgers-points');
  });

  await step('the district: the month\'s activities and attendance, the points ledger, 12345 import', async () => {
    await page.context().clearCookies();
    await login(page, 'admin');
    await page.goto(`${BASE_URL}/console/activities`);
    await checkPage(page, 'activities');
    for (const id of ['#export-activities', '#export-attendance']) {
      const href = await page.locator(id).getAttribute('href');
      assert.match(href, /from=\d{4}-\d\d-01&to=\d{4}-\d\d-01/, href);
      await download(page, href);
    }
    await page.goto(`${BASE_URL}/console/points`);
    await download(page, await page.locator('#export-points-ledger').getAttribute('href'));
    await page.goto(`${BASE_URL}/console/cases`);
    await page.locator('#import-hotline').click();
    await page.waitForURL((u) => u.pathname === '/console/imports');
    assert.equal(await page.locator('#import-template').getAttribute('href'), '/api/v1/imports/hotline/template.xlsx');
    assert.match(await page.locator('#import-columns').innerText(), /工单编号＊/);
    await checkPage(page, 'imports for 12345');
  });

  await step('an agent exports the matters they took', async () => {
    await page.context().clearCookies();
    await login(page, 'agent');
    await page.goto(`${BASE_URL}/console/services/proxy`);
    await checkPage(page, 'proxy as an agent');
    const mine = page.locator('#export-proxy-mine');
    if ((await page.locator('#proxy-mine li:not(.muted)').count()) > 0) {
      await download(page, await mine.getAttribute('href'));
    } else {
      assert.equal(await mine.count(), 0, 'no link to an empty file');
    }
  });
});
