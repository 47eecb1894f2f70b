// Browser test of volunteers and points on a 390 px phone: the volunteer sees their points, signs up,
// checks in with the code read from the organiser's page, and generates a redemption code; the
// keeper confirms it; the community opens the certificate. Every page: a screenshot and no
// sideways scrolling. What the demo may not hold yet is set up through the JSON API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, PASSWORD, PHONE, assertNoHorizontalOverflow, launch, login, newPage, shot, stepper } from './support.mjs';

const BUILDING = '411602001001001001';
const COMMUNITY = '411602001001';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function api(method, path, token, body) {
  const r = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}

async function token(username, password = PASSWORD) {
  const r = await api('POST', '/api/v1/auth/login', null, { username, password });
  assert.equal(r.status, 200, `login ${username}: ${JSON.stringify(r.json)}`);
  return r.json.token;
}

const china = (ms) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';

// The resident as a volunteer with points, an activity under way, a love supermarket with a keeper.
async function setUp() {
  const admin = await token('admin');
  const community = await token('community');
  const resident = await token('resident');
  let me = await api('GET', '/api/v1/volunteers/me', resident);
  if (me.status !== 200) {
    const list = await api('GET', `/api/v1/residents?grid=${BUILDING}&per_page=1`, admin);
    const r = list.json.items[0];
    const full = await api('POST', `/api/v1/residents/${r.id}/reveal`, admin, { reason: '志愿者登记核对' });
    assert.equal(full.status, 200, JSON.stringify(full.json));
    const reg = await api('POST', '/api/v1/volunteers', resident, { id_number: full.json.id_number, name: r.name });
    assert.ok([200, 201].includes(reg.status), JSON.stringify(reg.json));
    me = await api('GET', '/api/v1/volunteers/me', resident);
  }
  const volunteer = me.json;
  const give = await api('POST', '/api/v1/points/corrections', community, { volunteer: volunteer.id, points: 50, reason: '浏览器测试：补发积分' });
  assert.equal(give.status, 201, JSON.stringify(give.json));
  const suffix = Date.now().toString(36).slice(-5);
  const now = Date.now();
  const title = `楼道清扫${suffix}`;
  const act = await api('POST', '/api/v1/activities', community, {
    title, place: '1号楼前', grid: COMMUNITY, starts_at: china(now - 30 * 60_000), ends_at: china(now + 2 * 3600_000), capacity: 30,
  });
  assert.equal(act.status, 201, JSON.stringify(act.json));
  const shop = await api('POST', '/api/v1/shops', community, { kind: 'love_supermarket', name: `测试爱心超市${suffix}`, grid: COMMUNITY, address: '社区服务中心一楼' });
  assert.equal(shop.status, 201, JSON.stringify(shop.json));
  const keeper = `keeper${suffix}`;
  const user = await api('POST', '/api/v1/users', admin, { username: keeper, password: 'keeper-pass-1', role: 'shop_keeper', unit: shop.json.id });
  assert.equal(user.status, 201, JSON.stringify(user.json));
  const item = await api('POST', `/api/v1/shops/${shop.json.id}/items`, community, { name: `食用油${suffix}`, points: 10, stock: 5 });
  assert.equal(item.status, 201, JSON.stringify(item.json));
  return { volunteer, community, activity: act.json, title, keeper, shop: shop.json, item: item.json, balance: volunteer.points_balance + 50 };
}

async function loginAs(page, username, password) {
  await page.goto(`${BASE_URL}/login`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/console')), page.getByRole('button', { name: '登录' }).click()]);
}

test('phone 390px: a volunteer signs up, checks in with the organiser\'s code, redeems at the keeper, the community prints the certificate', { timeout: 120_000 }, async (t) => {
  const setup = await setUp();
  const vol = await newPage(browser, PHONE, true);
  const org = await newPage(browser, PHONE, true);
  const till = await newPage(browser, PHONE, true);
  t.after(() => Promise.all([vol.context.close(), org.context.close(), till.context.close()]));
  const step = stepper(t, vol.page);
  let checkinCode = '';
  let redeemCode = '';

  await step('the volunteer sees hours, points and the activity', async () => {
    const page = vol.page;
    await login(page, 'resident');
    await page.getByRole('link', { name: '志愿服务', exact: true }).click();
    await page.waitForURL('**/console/volunteer');
    assert.equal((await page.locator('#my-points').innerText()).trim(), String(setup.balance));
    assert.ok(await page.locator('li', { hasText: setup.title }).count() > 0, 'the activity is listed');
    await shot(page, 'volunteers-01-home');
    await assertNoHorizontalOverflow(page, 'volunteer home');
  });

  await step('the volunteer signs up', async () => {
    const page = vol.page;
    await page.locator('li', { hasText: setup.title }).getByRole('button', { name: '报名' }).click();
    await page.waitForURL(`**/console/volunteer/activities/${setup.activity.id}?done=signup`);
    assert.ok((await page.locator('.notice').innerText()).includes('报名成功'));
    assert.ok((await page.locator('#my-signup').innerText()).includes('已报名'));
    await shot(page, 'volunteers-02-signed-up');
    await assertNoHorizontalOverflow(page, 'activity page');
  });

  await step('the organiser shows the check-in code and its QR code', async () => {
    const page = org.page;
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/activities`);
    await assertNoHorizontalOverflow(page, 'activities list');
    await shot(page, 'volunteers-03-activities');
    await page.getByRole('link', { name: setup.title }).first().click();
    await page.waitForURL(`**/console/activities/${setup.activity.id}`);
    checkinCode = (await page.locator('#checkin-code').innerText()).trim();
    assert.match(checkinCode, /^[A-Z2-9]{6}$/);
    assert.ok(await page.locator('svg.qr').isVisible());
    assert.ok((await page.locator('table.list').innerText()).includes('已报名'));
    await shot(page, 'volunteers-04-organiser');
    await assertNoHorizontalOverflow(page, 'organiser page');
  });

  await step('a wrong code is refused in Chinese, keeping the input; the right code checks in', async () => {
    const page = vol.page;
    await page.goto(`${BASE_URL}/console/volunteer`);
    await page.locator('input[name="code"]').fill('ZZZZ22');
    await page.getByRole('button', { name: '签到', exact: true }).click();
    await page.waitForLoadState();
    assert.ok((await page.locator('.error').innerText()).includes('签到码不正确'));
    assert.equal(await page.locator('input[name="code"]').inputValue(), 'ZZZZ22');
    await assertNoHorizontalOverflow(page, 'volunteer home with an error');
    await page.locator('input[name="code"]').fill(checkinCode.toLowerCase());
    await page.getByRole('button', { name: '签到', exact: true }).click();
    await page.waitForURL(`**/console/volunteer/activities/${setup.activity.id}?done=in`);
    assert.ok((await page.locator('#my-signup').innerText()).includes('已签到'));
    await shot(page, 'volunteers-05-checked-in');
  });

  await step('the organiser sees the check-in', async () => {
    await org.page.reload();
    assert.ok((await org.page.locator('table.list').innerText()).includes('已签到'));
  });

  await step('the volunteer generates a redemption code with its QR code', async () => {
    const page = vol.page;
    await page.goto(`${BASE_URL}/console/volunteer/shop?all=1`);
    // Shops are folded; the volunteer taps the shop's name (店名) to see what it offers.
    await page.locator('details.shop summary', { hasText: setup.shop.name }).click();
    assert.ok((await page.locator('body').innerText()).includes(setup.item.name));
    await page.getByRole('button', { name: '生成兑换码' }).click();
    await page.waitForLoadState();
    redeemCode = (await page.locator('#redeem-code').innerText()).trim();
    assert.match(redeemCode, /^[A-Z2-9]{8}$/);
    assert.ok(await page.locator('svg.qr').isVisible());
    await shot(page, 'volunteers-06-redemption-code');
    await assertNoHorizontalOverflow(page, 'shop page');
  });

  await step('the keeper confirms the redemption; the volunteer\'s points go down', async () => {
    const page = till.page;
    await loginAs(page, setup.keeper, 'keeper-pass-1');
    await page.getByRole('link', { name: '兑换', exact: true }).click();
    await page.waitForURL('**/console/shop');
    await assertNoHorizontalOverflow(page, 'keeper page');
    await page.locator('input[name="code"]').fill(redeemCode);
    await page.locator('select[name="item"]').selectOption(setup.item.id);
    await page.locator('input[name="quantity"]').fill('1');
    await page.getByRole('button', { name: '确认兑换' }).click();
    await page.waitForLoadState();
    const result = await page.locator('#redeem-result').innerText();
    assert.ok(result.includes('兑换成功') && result.includes('扣除 10 积分'), result);
    await shot(page, 'volunteers-07-keeper-confirmed');
    await assertNoHorizontalOverflow(page, 'keeper page after a redemption');
    await vol.page.goto(`${BASE_URL}/console/volunteer`);
    assert.equal((await vol.page.locator('#my-points').innerText()).trim(), String(setup.balance - 10));
  });

  await step('the keeper is refused a used code in Chinese', async () => {
    const page = till.page;
    await page.locator('input[name="code"]').fill(redeemCode);
    await page.locator('select[name="item"]').selectOption(setup.item.id);
    await page.getByRole('button', { name: '确认兑换' }).click();
    await page.waitForLoadState();
    assert.ok((await page.locator('.error').innerText()).includes('兑换码已使用'));
  });

  await step('the organiser marks an hour of attendance (标记出勤)', async () => {
    const page = org.page;
    await page.goto(`${BASE_URL}/console/activities/${setup.activity.id}`);
    await page.locator('select[name="volunteer"]').selectOption(setup.volunteer.id);
    await page.locator('input[name="minutes"]').fill('60');
    await page.getByRole('button', { name: '标记出勤' }).click();
    await page.waitForURL(`**/console/activities/${setup.activity.id}?done=marked`);
    assert.ok((await page.locator('table.list').innerText()).includes('已完成'));
    await assertNoHorizontalOverflow(page, 'organiser page after marking');
  });

  await step('the community finds the volunteer and opens the certificate', async () => {
    const page = org.page;
    await page.getByRole('link', { name: '志愿服务', exact: true }).click();
    await page.waitForURL('**/console/volunteers');
    await assertNoHorizontalOverflow(page, 'volunteers list');
    await page.goto(`${BASE_URL}/console/volunteers/${setup.volunteer.id}`);
    await shot(page, 'volunteers-08-volunteer');
    await assertNoHorizontalOverflow(page, 'volunteer detail');
    await page.getByRole('link', { name: '志愿服务证明' }).click();
    await page.waitForURL(`**/console/volunteers/${setup.volunteer.id}/certificate`);
    assert.ok((await page.locator('.certificate h1').innerText()).includes('志愿服务证明'));
    // The certificate shows the hours the ledger holds, and they grew by the hour marked today.
    const now = await api('GET', `/api/v1/volunteers/${setup.volunteer.id}`, setup.community);
    assert.equal(now.status, 200, JSON.stringify(now.json));
    const certHours = Number((await page.locator('#cert-hours').innerText()).trim());
    assert.equal(certHours, now.json.hours, 'the certificate shows the volunteer\'s hours');
    assert.ok(now.json.hours >= setup.volunteer.hours + 1, `the marked hour is counted: ${setup.volunteer.hours} → ${now.json.hours}`);
    assert.ok((await page.locator('.certificate table').innerText()).includes(setup.title));
    assert.ok(await page.getByRole('button', { name: '打印' }).isVisible());
    await shot(page, 'volunteers-09-certificate');
    await assertNoHorizontalOverflow(page, 'certificate');
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false, 'the header is not printed');
    await page.emulateMedia({ media: 'screen' });
    await page.goto(`${BASE_URL}/console/points`);
    assert.ok((await page.locator('h1').innerText()).includes('时长与积分'));
    await shot(page, 'volunteers-10-points');
    await assertNoHorizontalOverflow(page, 'points page');
  });
});
