// Service sites (服务阵地) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): a resident opens their community's centre from 为民服务, sees
// the week of bookings, books a room, is refused the same slot in Chinese, and cancels; staff
// record a referred visit in the reception log and close it; the public grid page lists the
// sites with hours. No page scrolls sideways, shows an ISO timestamp or an English code.
// Screenshots: e2e/screenshots/sites-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoHorizontalOverflow, BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(party_center|civilization|warm_station|cool_space|day_care|staff|council|resident|handled|referred|room_taken)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES);

test('a resident books and cancels a room; staff keep the reception log; the public page', { timeout: 120_000 }, async (t) => {
  const resident = await newPage(browser, PHONE, true);
  const staff = await newPage(browser, PHONE, true);
  const step = stepper(t, resident.page);
  const tag = Date.now() % 100000;
  // A day 30–120 days ahead and an early hour the demo never books.
  const day = new Date(Date.now() + (30 + (tag % 90)) * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 10);
  const hour = String(tag % 6).padStart(2, '0');
  let sitePath;

  await step('the resident finds the centre and sees the week', async () => {
    const page = resident.page;
    await login(page, 'resident');
    await page.getByRole('link', { name: '为民服务' }).first().click();
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/services/sites'), page.getByRole('link', { name: '服务阵地' }).click()]);
    await checkPage(page, 'the sites');
    await Promise.all([page.waitForURL((u) => /\/console\/services\/sites\/[0-9a-f-]+$/.test(u.pathname)), page.locator('#sites a', { hasText: '党群服务中心' }).first().click()]);
    sitePath = new URL(page.url()).pathname;
    assert.equal(await page.locator('#week .day').count(), 7);
    assert.equal(await page.locator('#receptions').count(), 0, 'no reception log for residents');
    await checkPage(page, 'the site page');
    await shot(page, 'sites-week');
  });

  await step('books a room, is refused the same slot, cancels', async () => {
    const page = resident.page;
    const book = async () => {
      const f = page.locator('#booking-form');
      // The centre's last room: a site may have one room or several.
      const rooms = await f.locator('select[name="room"] option').count();
      await f.locator('select[name="room"]').selectOption({ index: rooms - 1 });
      await f.locator('input[name="date"]').fill(day);
      await f.locator('select[name="start"]').selectOption(`${hour}:00`);
      await f.locator('select[name="end"]').selectOption(`${hour}:30`);
      await f.locator('input[name="purpose"]').fill(`读书会${tag}`);
      await f.getByRole('button', { name: '预约' }).click();
    };
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), book()]);
    assert.match(await page.locator('.notice').innerText(), /预约成功/);
    assert.match(await page.locator('#week').innerText(), new RegExp(`读书会${tag}`));
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), book()]);
    assert.match(await page.locator('.error').innerText(), /已被预订/);
    await checkPage(page, 'the refusal');
    const mine = page.locator('#my-bookings li', { hasText: `读书会${tag}` });
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), mine.getByRole('button', { name: '取消预约' }).click()]);
    assert.doesNotMatch(await page.locator('#my-bookings').innerText(), new RegExp(`读书会${tag}`));
    await shot(page, 'sites-booked');
  });

  await step('staff record a referred visit and close it', async () => {
    const page = staff.page;
    await login(page, 'community');
    await page.goto(`${BASE_URL}${sitePath}`);
    const f = page.locator('#reception-form');
    await page.locator('summary', { hasText: '登记来访' }).click();
    await f.locator('input[name="visitor"]').fill('欧阳先生');
    await f.locator('textarea[name="matter"]').fill(`咨询公租房（${tag}）`);
    await f.locator('select[name="outcome"]').selectOption('referred');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), f.getByRole('button', { name: '登记' }).click()]);
    assert.match(await page.locator('.error').innerText(), /请填写转办单位/);
    const g = page.locator('#reception-form');
    await page.locator('summary', { hasText: '登记来访' }).click();
    await g.locator('input[name="visitor"]').fill('欧阳先生');
    await g.locator('textarea[name="matter"]').fill(`咨询公租房（${tag}）`);
    await g.locator('select[name="outcome"]').selectOption('referred');
    await g.locator('input[name="referred_to"]').fill('街道住建办');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), g.getByRole('button', { name: '登记' }).click()]);
    const line = page.locator('#receptions li', { hasText: `咨询公租房（${tag}）` });
    assert.match(await line.innerText(), /欧\*\*\*/);
    assert.match(await line.innerText(), /待办结/);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), line.getByRole('button', { name: '办结' }).click()]);
    assert.match(await page.locator('#receptions li', { hasText: `咨询公租房（${tag}）` }).innerText(), /已办结/);
    await checkPage(page, 'the reception log');
    await shot(page, 'sites-receptions');
  });

  await step('the public grid page lists the sites with hours', async () => {
    const pub = await newPage(browser, PHONE, true);
    const resp = await pub.page.goto(`${BASE_URL}/g/411602001001001001`);
    assert.equal(resp.status(), 200);
    assert.match(await pub.page.locator('#public-sites').innerText(), /党群服务中心[\s\S]*开放时间/);
    await assertNoHorizontalOverflow(pub.page, 'the public page');
    await shot(pub.page, 'sites-public');
    await pub.context.close();
  });
});
