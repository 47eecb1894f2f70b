// Councils (议事协商) in the browser at 390 px, against a live `gongzhi demo --scale small` server
// (e2e/run.sh starts one): the resident records an opinion (and a too-short one is refused in
// Chinese, nothing written); the council's chair answers it directly and schedules a meeting,
// whose page shows the 6-digit 签到码; the resident signs in with the code typed in full-width
// digits, earns points and sees the answer; the chair records the minutes with a resolution and
// opens the printable 会议纪要. No page scrolls sideways, shows an ISO timestamp or an English
// status code. Screenshots: e2e/screenshots/council-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PASSWORD, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
// Status, kind and post codes of the feature's API, which the pages must show in Chinese.
const CODES =
  /\b(open|agenda|answered|merged|planned|held|overdue|in_case|done|party_mass|five_party|three_party|compound|building_head|unit_head|vice_chair|chair|member)\b/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// The checks every page of the walk passes.
const checkPage = (page, what) => checkChinesePage(page, what, CODES, 'body');

// How many opinions the resident has recorded, through the API.
async function myOpinionCount() {
  const r = await fetch(`${BASE_URL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'resident', password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  const l = await fetch(`${BASE_URL}/api/v1/opinions?per_page=1`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(l.status, 200);
  return (await l.json()).total;
}

async function openHub(page) {
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/console/councils'),
    page.getByRole('link', { name: '议事协商' }).first().click(),
  ]);
}

// China time `minutes` from now, as a datetime-local value.
function chinaLocal(minutes) {
  return new Date(Date.now() + minutes * 60_000 + 8 * 3600_000).toISOString().slice(0, 16);
}

const fullWidth = (digits) => [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');

test('an opinion is answered, a meeting is held with a sign-in code, minutes are printed', { timeout: 120_000 }, async (t) => {
  const tag = Date.now() % 100000;
  const body = `3单元楼道灯坏了一个月，晚上上下楼很不方便，希望尽快修好（${tag}）`;
  const answer = `物业已安排电工本周五前更换楼道灯（${tag}）`;
  const title = `楼道照明与停车协商会 ${tag}`;
  const resolution = `物业公司本月底前检修全部楼道灯（${tag}）`;
  const resident = await newPage(browser, PHONE, true);
  const chair = await newPage(browser, PHONE, true);
  const step = stepper(t, chair.page);
  let meetingPath = '';
  let code = '';

  await step('the resident records an opinion in under a minute; a too-short one is refused', async () => {
    const page = resident.page;
    await login(page, 'resident');
    const started = Date.now();
    await openHub(page);
    await checkPage(page, 'the resident’s 议事协商');
    const form = page.locator('#opinion-form');

    const before = await myOpinionCount();
    await form.locator('select[name="category"]').selectOption('设施维修');
    // One character once trimmed: past the browser's minlength, refused by the server.
    await form.locator('textarea[name="body"]').fill('  灯  ');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '提交意见' }).click()]);
    assert.match(await page.locator('.error').innerText(), /意见内容应为2至1000字/);
    assert.equal(await myOpinionCount(), before, 'a refused opinion was written');
    await checkPage(page, 'the refused opinion');
    await shot(page, 'council-opinion-refused');

    await form.locator('select[name="category"]').selectOption('设施维修');
    await form.locator('textarea[name="body"]').fill(body);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '提交意见' }).click()]);
    assert.match(await page.locator('.notice').innerText(), /意见已记录/);
    assert.ok(Date.now() - started < 60_000, `recording took ${Date.now() - started} ms`);
    assert.equal(await myOpinionCount(), before + 1);
    const mine = page.locator('ul.opinions li', { hasText: body });
    assert.match(await mine.innerText(), /待答复/);
    assert.match(await mine.innerText(), /设施维修/);
    await checkPage(page, 'the resident’s opinions');
    await shot(page, 'council-opinion-recorded');
  });

  await step('the chair answers it directly and schedules a meeting with a sign-in code', async () => {
    const page = chair.page;
    await login(page, 'council');
    await openHub(page);
    await checkPage(page, 'the chair’s 议事协商');
    await Promise.all([
      page.waitForURL((u) => /^\/console\/councils\/[0-9a-f-]{36}$/.test(u.pathname)),
      page.locator('a[href^="/console/councils/"]').first().click(),
    ]);
    await checkPage(page, 'the council page');
    const councilPath = new URL(page.url()).pathname;

    const item = page.locator('ul.opinions li', { hasText: body });
    assert.match(await item.innerText(), /待答复/);
    await item.locator('summary', { hasText: '处理' }).click();
    await item.locator('select[name="action"]').selectOption({ label: '直接答复' });
    await item.locator('textarea[name="answer"]').fill(answer);
    await checkPage(page, 'the answer form');
    await shot(page, 'council-answer-form');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), item.getByRole('button', { name: '确定' }).click()]);
    assert.equal(new URL(page.url()).pathname, councilPath);
    const answered = page.locator('ul.opinions li', { hasText: body });
    assert.match(await answered.innerText(), /已答复/);
    assert.match(await answered.innerText(), new RegExp(`答复：${answer.replace(/[()（）]/g, '.')}`));

    const schedule = page.locator('#schedule');
    await schedule.locator('summary').click();
    await schedule.locator('input[name="title"]').fill(title);
    await schedule.locator('input[name="starts_at"]').fill(chinaLocal(30));
    await checkPage(page, 'the meeting form');
    await Promise.all([
      page.waitForURL((u) => /^\/console\/meetings\/[0-9a-f-]{36}$/.test(u.pathname)),
      schedule.getByRole('button', { name: '安排' }).click(),
    ]);
    meetingPath = new URL(page.url()).pathname;
    assert.match(await page.locator('h1').innerText(), new RegExp(String(tag)));
    code = (await page.locator('#checkin-code').innerText()).trim();
    assert.match(code, /^\d{6}$/, `the sign-in code is “${code}”`);
    assert.match(await page.locator('main, body').first().innerText(), /待召开/);
    await checkPage(page, 'the meeting page');
    await shot(page, 'council-meeting-code');
  });

  await step('the resident signs in with the code in full-width digits and sees the answer', async () => {
    await resident.context.close();
    Object.assign(resident, await newPage(browser, PHONE, true));
    const page = resident.page;
    await login(page, 'resident');
    await openHub(page);
    await page.locator('input[name="code"]').fill(fullWidth(code));
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), page.getByRole('button', { name: '签到', exact: true }).click()]);
    const notice = await page.locator('.notice').innerText();
    assert.match(notice, /已签到/);
    assert.match(notice, new RegExp(String(tag)));
    assert.match(notice, /积分/);
    const mine = page.locator('ul.opinions li', { hasText: body });
    assert.match(await mine.innerText(), /已答复/);
    assert.ok((await mine.innerText()).includes(`答复：${answer}`), 'the answer is not shown to the resident');
    await checkPage(page, 'the resident after signing in');
    await shot(page, 'council-checked-in');
  });

  await step('the chair records the minutes with a resolution and opens the printable 会议纪要', async () => {
    const page = chair.page;
    await page.goto(`${BASE_URL}${meetingPath}`);
    assert.match(await page.locator('body').innerText(), /签到 \d+ 人/);
    const form = page.locator('#minutes-form');
    await form.locator('textarea[name="minutes"]').fill('会议听取了居民关于楼道照明的意见，物业公司和业委会逐项协商，形成以下决议。');
    await form.locator('input[name="r1"]').fill(resolution);
    await form.locator('input[name="p1"]').fill('物业公司');
    const due = new Date(Date.now() + 8 * 3600_000 + 14 * 86_400_000).toISOString().slice(0, 10);
    await form.locator('input[name="d1"]').fill(due);
    await checkPage(page, 'the minutes form');
    await Promise.all([page.waitForURL((u) => u.pathname === meetingPath && u.search !== ''), form.getByRole('button', { name: '保存纪要' }).click()]);
    assert.equal(await page.locator('.error').count(), 0, 'the minutes were refused');
    assert.match(await page.locator('.minutes').innerText(), /楼道照明/);
    const res = page.locator('ol.resolutions li', { hasText: resolution });
    assert.match(await res.innerText(), /责任：物业公司/);
    assert.equal(await page.locator('#checkin-code').count(), 0, 'a held meeting still shows its code');
    await checkPage(page, 'the held meeting');
    await shot(page, 'council-minutes');

    const [print] = await Promise.all([
      chair.context.waitForEvent('page'),
      page.getByRole('link', { name: '打印会议纪要' }).click(),
    ]);
    await print.waitForLoadState();
    assert.equal(new URL(print.url()).pathname, `${meetingPath}/print`);
    assert.match(await print.locator('h1').innerText(), /会议纪要：/);
    const text = await print.locator('body').innerText();
    assert.ok(text.includes(resolution), 'the printable minutes lack the resolution');
    assert.match(text, /记录：/);
    await checkPage(print, 'the printable 会议纪要');
    await shot(print, 'council-print');
  });

  await resident.context.close();
  await chair.context.close();
});
