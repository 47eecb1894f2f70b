// Five-star branches (五星支部创建) in the browser at 390 px, against a live `gongzhi demo --scale
// small` server (e2e/run.sh starts one). The demo leaves 阳光社区's 2026 card sent back by its
// street: the community reads the street's comment, corrects a score typed in full-width digits,
// uploads a photo as evidence and submits; the street sees its communities' counts and agrees to
// every star; the district is refused a denial without a reason, then rates, and the district's
// page shows the result. No page scrolls sideways, shows an ISO timestamp or an English status
// code. Screenshots: e2e/screenshots/stars-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, checkChinesePage, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const ISO = /\d{4}-\d\d-\d\dT\d\d:/;
const CODES = /\b(draft|submitted|returned|reviewed|rated|awarded|denied|pending|urban|village|agree|back)\b/;
const CARD = '/console/stars/411602001001/2026';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const checkPage = (page, what) => checkChinesePage(page, what, CODES, 'body');

const fullWidth = (digits) => [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');

test('a sent-back card is corrected, submitted, reviewed and rated', { timeout: 120_000 }, async (t) => {
  const community = await newPage(browser, PHONE, true);
  const step = stepper(t, community.page);

  await step('the community reads the send-back, corrects a score, uploads evidence and submits', async () => {
    const page = community.page;
    await login(page, 'community');
    await page.goto(`${BASE_URL}/console/stars`);
    await checkPage(page, 'the community’s 五星支部创建');
    await Promise.all([page.waitForURL((u) => u.pathname === CARD), page.locator(`a[href="${CARD}"]`).first().click()]);
    assert.match(await page.locator('#st-status').innerText(), /街道退回修改/);
    assert.match(await page.locator('body').innerText(), /街道审核：退回/);
    await checkPage(page, 'the sent-back card');
    await shot(page, 'stars-returned');

    const form = page.locator('#st-assess');
    await form.locator('input[name="score.party.organisation"]').fill('１２０');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '保存自评' }).click()]);
    assert.match(await page.locator('.error').innerText(), /分数应为0至100/);
    await form.locator('input[name="score.party.organisation"]').fill(fullWidth('95'));
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '保存自评' }).click()]);
    assert.match(await page.locator('.notice').innerText(), /自评已保存/);
    assert.equal(await page.locator('input[name="score.party.organisation"]').inputValue(), '95');
    assert.match(await page.locator('#st-quarters').innerText(), /季度/);

    const up = page.locator('#st-upload');
    await up.locator('select[name="star"]').selectOption({ label: '支部过硬' });
    await up.locator('input[type="file"]').setInputFiles({ name: '三会一课记录.png', mimeType: 'image/png', buffer: PNG });
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), up.getByRole('button', { name: '上传' }).click()]);
    assert.match(await page.locator('.notice').innerText(), /佐证材料已上传/);
    assert.match(await page.locator('#star-party').innerText(), /三会一课记录\.png/);
    await checkPage(page, 'the card with evidence');

    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), page.locator('#st-submit').getByRole('button', { name: '提交街道审核' }).click()]);
    assert.match(await page.locator('#st-status').innerText(), /待街道审核/);
    assert.equal(await page.locator('#st-assess').count(), 0, 'a submitted card is still editable');
    await checkPage(page, 'the submitted card');
    await shot(page, 'stars-submitted');
  });

  await step('the street sees its counts and agrees to every star', async () => {
    await community.context.close();
    Object.assign(community, await newPage(browser, PHONE, true));
    const page = community.page;
    await login(page, 'street');
    await page.goto(`${BASE_URL}/console/stars`);
    assert.equal(await page.locator('#st-streets tbody tr').count(), 1, 'one street, one line of counts');
    assert.equal(await page.locator('#st-streets td[data-label="已提交"]').innerText(), '3');
    await checkPage(page, 'the street’s 五星支部创建');
    await shot(page, 'stars-street');
    await page.goto(`${BASE_URL}${CARD}`);
    const form = page.locator('#st-review');
    await checkPage(page, 'the review form');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '提交审核意见' }).click()]);
    assert.match(await page.locator('.notice').innerText(), /审核通过/);
    assert.match(await page.locator('#st-status').innerText(), /待区级评定/);
  });

  await step('the district must give a reason to deny, then rates; its page shows the stars', async () => {
    await community.context.close();
    Object.assign(community, await newPage(browser, PHONE, true));
    const page = community.page;
    await login(page, 'admin');
    await page.goto(`${BASE_URL}${CARD}`);
    const form = page.locator('#st-rate');
    await form.locator('input[name="rating.business"][value="denied"]').check();
    await Promise.all([page.waitForURL((u) => u.searchParams.has('err')), form.getByRole('button', { name: '保存评定结果' }).click()]);
    assert.match(await page.locator('.error').first().innerText(), /须说明理由/);
    await form.locator('input[name="rating.business"][value="denied"]').check();
    await form.locator('input[name="reason.business"]').fill('就业服务台账不完整');
    await checkPage(page, 'the rating form');
    await shot(page, 'stars-rating');
    await Promise.all([page.waitForURL((u) => u.searchParams.has('msg')), form.getByRole('button', { name: '保存评定结果' }).click()]);
    assert.match(await page.locator('#st-status').innerText(), /已评定/);
    assert.match(await page.locator('#star-business').innerText(), /未授星/);
    assert.match(await page.locator('#star-business').innerText(), /就业服务台账不完整/);
    await checkPage(page, 'the rated card');

    await page.goto(`${BASE_URL}/console/stars?year=2026`);
    const line = page.locator('li[data-grid="411602001001"]');
    assert.match(await line.innerText(), /已评定/);
    assert.match(await line.innerText(), /宜业兴业 · 未授星/);
    await checkPage(page, 'the district’s 五星支部创建');
    await shot(page, 'stars-district');
  });

  await community.context.close();
});
