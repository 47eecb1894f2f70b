// Party building (党建) in the browser at 390 px, against a live `gongzhi demo --scale small`
// server (e2e/run.sh starts one): the `member` account opens 党建 from the nav and sees their own
// page (report-in, the 楼栋党员中心户 post shown in the compound, service hours); a service record
// with too many hours is refused in Chinese and nothing written; one with full-width digits is
// saved and listed. The `party` account, the first compound's branch secretary, opens the branch
// page from theirs (members, posts, work). The compound's public page shows the consented posts.
// No page scrolls sideways, shows an ISO timestamp or an English code. Screenshots:
// e2e/screenshots/party-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PASSWORD, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(in_service|resident|reported|overdue|due|building_center|policy|mediation|branch|general_branch|committee|working_committee|nominated|published)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES, 'body');

// The member's service records, through the API.
async function serviceTotal() {
  const r = await fetch(`${BASE_URL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'member', password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  const me = await fetch(`${BASE_URL}/api/v1/party/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200);
  return (await me.json()).service_total;
}

const fullWidth = (s) => [...s].map((c) => (/\d/.test(c) ? String.fromCharCode(0xff10 + Number(c)) : c)).join('');

test('a member keeps their own page; the secretary reads the branch', { timeout: 120_000 }, async (t) => {
  const tag = Date.now() % 100000;
  const what = `入户宣传垃圾分类政策（${tag}）`;
  const member = await newPage(browser, PHONE, true);
  const secretary = await newPage(browser, PHONE, true);
  const step = stepper(t, member.page);

  await step('the member opens 党建 and sees their report-in, post and service', async () => {
    const page = member.page;
    await login(page, 'member');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/console/party/me'),
      page.getByRole('link', { name: '党建' }).first().click(),
    ]);
    const card = page.locator('section.party-me');
    assert.match(await card.innerText(), /党员/);
    assert.match(await card.innerText(), /近一年服务/);
    const post = page.locator('ul.party-posts li').first();
    assert.match(await post.innerText(), /楼栋党员中心户/);
    assert.match(await post.innerText(), /已在小区公示/);
    await checkPage(page, 'the member’s page');
    await shot(page, 'party-me');
  });

  await step('too many hours are refused in Chinese; a record in full-width digits is saved', async () => {
    const page = member.page;
    const before = await serviceTotal();
    const form = page.locator('#service-form');
    await form.locator('input[name="hours"]').fill('30');
    await form.locator('textarea[name="what"]').fill(what);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '保存' }).click()]);
    assert.match(await page.locator('.error').innerText(), /服务时长应为0.5至24小时/);
    assert.equal(await serviceTotal(), before, 'a refused record was written');
    await checkPage(page, 'the refused record');

    await form.locator('input[name="hours"]').fill(fullWidth('1.5'));
    await form.locator('textarea[name="what"]').fill(what);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '保存' }).click()]);
    assert.match(await page.locator('.notice').innerText(), /服务记录已保存/);
    assert.equal(await serviceTotal(), before + 1);
    const line = page.locator('ul.party-service li', { hasText: what });
    assert.match(await line.innerText(), /1\.5 小时/);
    await checkPage(page, 'the saved record');
    await shot(page, 'party-service');
  });

  await step('the secretary opens the branch page: members, posts, work', async () => {
    const page = secretary.page;
    await login(page, 'party');
    await page.goto(`${BASE_URL}/console/party/me`);
    await Promise.all([
      page.waitForURL((u) => /^\/console\/party\/orgs\/[0-9a-f-]{36}$/.test(u.pathname)),
      page.locator('a[href^="/console/party/orgs/"]').first().click(),
    ]);
    assert.match(await page.locator('h1').innerText(), /支部/);
    assert.ok((await page.locator('table.party-members tbody tr').count()) > 0, 'members listed');
    assert.match(await page.locator('ul.party-posts').innerText(), /楼栋党员中心户/);
    assert.match(await page.locator('ul.party-service').innerText(), new RegExp(what.replace(/[（）]/g, '.')));
    await checkPage(page, 'the branch page');
    await shot(page, 'party-branch');
  });

  await step('the compound’s public page shows members with their posts', async () => {
    const page = secretary.page;
    const me = await fetch(`${BASE_URL}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'member', password: PASSWORD }),
    });
    const { token } = await me.json();
    const m = await (await fetch(`${BASE_URL}/api/v1/party/me`, { headers: { authorization: `Bearer ${token}` } })).json();
    await page.goto(`${BASE_URL}/g/${m.grid.slice(0, 15)}`);
    const panel = page.locator('.party-public');
    assert.match(await panel.innerText(), /党员亮身份/);
    assert.match(await panel.innerText(), new RegExp(`楼栋党员中心户：${m.name}`));
    await checkPage(page, 'the public page');
    await shot(page, 'party-public');
  });
});
