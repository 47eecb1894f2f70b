// Care visits (关爱走访) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): the building officer opens 今日走访 from the services hub (the
// demo's overdue person first), records a visit with the phone's position (granted, at the
// building) and a photo, an empty note refused in Chinese first; the done screen offers a need
// (the lists part's form: skipped while its route is missing) and a case; the community reads its
// escalation list; the district changes a schedule with full-width digits. No page scrolls
// sideways, shows an ISO timestamp or an English code. Screenshots: e2e/screenshots/care-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(in_building|outside|unknown|good|fair|poor|absent|compound|community|week|month)\b/;
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

const fullWidth = (s) => [...s].map((c) => (/\d/.test(c) ? String.fromCharCode(0xff10 + Number(c)) : c)).join('');

test('today\'s visits, a visit with position and photo, escalations and schedules at 390 px', { timeout: 120_000 }, async (t) => {
  const officer = await newPage(browser, PHONE, true);
  const step = stepper(t, officer.page);
  const tag = Date.now() % 100000;
  let donePath = '';

  await step('the building officer opens 今日走访 from the services hub', async () => {
    const page = officer.page;
    await login(page, 'building');
    await page.goto(`${BASE_URL}/console/services`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/services/care'), page.getByRole('link', { name: /关爱走访/ }).first().click()]);
    await checkPage(page, 'the due list');
    // The demo leaves building 1's first care-tagged person 13 days overdue: on top.
    const first = page.locator('#care-due li').first();
    assert.match(await first.innerText(), /逾期1\d天/);
    assert.match(await first.innerText(), /独居老人|空巢老人|残疾人|低保|监测对象|留守儿童/);
    await shot(page, 'care-today');
  });

  await step('a visit: an empty note refused, then recorded at the building with a photo', async () => {
    const page = officer.page;
    const ctx = page.context();
    const [lat, lng] = await page.evaluate(async () => {
      const r = await fetch('/api/v1/grids/411602001001001001', { credentials: 'same-origin' });
      if (!r.ok) return [null, null];
      const g = await r.json();
      return [g.center.lat, g.center.lng];
    });
    if (lat !== null) {
      await ctx.grantPermissions(['geolocation'], { origin: BASE_URL });
      await ctx.setGeolocation({ latitude: lat, longitude: lng });
    }
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/console/services/care/visit/')), page.locator('#care-due li').first().getByRole('link', { name: '走访' }).click()]);
    await checkPage(page, 'the visit form');
    // The browser's required would stop it: remove it to see the server refuse in Chinese.
    await page.locator('textarea[name="note"]').evaluate((el) => el.removeAttribute('required'));
    await page.locator('textarea[name="note"]').fill('   ');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), page.getByRole('button', { name: '提交走访记录' }).click()]);
    assert.match(await page.locator('.error').innerText(), /请填写走访情况/);
    await page.getByLabel('较差，需关注').check();
    await page.locator('textarea[name="note"]').fill(`老人腿疼，行动不便（${tag}）`);
    await page.locator('textarea[name="needs"]').fill('需要上门送药');
    if (lat !== null) {
      await page.getByRole('button', { name: '使用手机定位' }).click();
      await page.waitForFunction(() => document.getElementById('lat').value !== '');
    }
    await page.locator('input[name="photo"]').setInputFiles({ name: 'visit.png', mimeType: 'image/png', buffer: PNG });
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/console/services/care/visits/')), page.getByRole('button', { name: '提交走访记录' }).click()]);
    await checkPage(page, 'the done screen');
    assert.match(await page.locator('#visit').innerText(), new RegExp(`行动不便（${tag}）`));
    if (lat !== null) assert.equal(await page.locator('#located').innerText(), '在楼栋');
    assert.ok(await page.locator('#visit img').count() === 1, 'the photo is shown');
    assert.ok(await page.locator('#visit img').evaluate((img) => img.complete && img.naturalWidth === 1), 'the photo loads');
    donePath = new URL(page.url()).pathname;
    await shot(page, 'care-done');
  });

  await step('the needs found become a need (once the lists part is merged) and a case', async () => {
    const page = officer.page;
    const probe = await page.evaluate(async () => (await fetch('/console/services/needs', { method: 'POST', credentials: 'same-origin' })).status);
    if (probe !== 404 && probe !== 405) {
      const form = page.locator('#need-form');
      await form.locator('select[name="kind"]').selectOption('医疗健康');
      await Promise.all([page.waitForURL((u) => u.searchParams.has('msg') || u.searchParams.has('err')), form.getByRole('button', { name: '登记需求' }).click()]);
      assert.ok(new URL(page.url()).searchParams.has('msg'), 'the need is recorded');
      await page.goto(`${BASE_URL}${donePath}`);
    }
    const form = page.locator('#case-form');
    await form.locator('select[name="category"]').selectOption('SQ01');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: /上报问题/ }).click()]);
    assert.match(await page.locator('.notice').innerText(), /已上报问题，编号/);
    await checkPage(page, 'the case filed');
  });

  await step('the community reads its escalation list; the district changes a schedule', async () => {
    const community = await newPage(browser, PHONE, true);
    await login(community.page, 'community');
    await community.page.goto(`${BASE_URL}/console/services/care/escalations?level=compound`);
    await checkPage(community.page, 'the escalation list');
    assert.match(await community.page.locator('h1').innerText(), /提醒小区/);
    await shot(community.page, 'care-escalations');
    const admin = await newPage(browser, PHONE, true);
    const page = admin.page;
    await login(page, 'admin');
    await page.goto(`${BASE_URL}/console/services/care/schedules`);
    await checkPage(page, 'the schedules');
    const item = page.locator('#schedules li', { hasText: '低保' });
    await item.locator('input[name="count"]').fill(fullWidth('2'));
    await item.locator('select[name="unit"]').selectOption('month');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), item.getByRole('button', { name: '保存' }).click()]);
    assert.match(await page.locator('#schedules li', { hasText: '低保' }).innerText(), /每2个月/);
    await checkPage(page, 'the schedule saved');
    await shot(page, 'care-schedules');
  });
});
