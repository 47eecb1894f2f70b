// Browser test of Open311 keys: the district issues a key on the phone, a client reports with it
// through /open311/v2, the district revokes it and the client is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, DISTRICT, PHONE, assertNoHorizontalOverflow, launch, login, newPage, shot, stepper } from './support.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function report(key) {
  const body = new URLSearchParams({
    api_key: key,
    jurisdiction_id: DISTRICT,
    service_code: 'SQ07',
    address_id: '411602001001001001',
    description: '楼道堆放纸箱，堵住了安全出口',
  });
  const r = await fetch(`${BASE_URL}/open311/v2/requests.json`, { method: 'POST', body });
  return { status: r.status, type: r.headers.get('content-type'), json: await r.json() };
}

test('phone 390px: the district issues an Open311 key, a client reports with it, the key is revoked', { timeout: 60_000 }, async (t) => {
  const { context, page } = await newPage(browser, PHONE, true);
  t.after(() => context.close());
  const step = stepper(t, page);
  let key = '';

  await step('admin opens 接口密钥 from the menu', async () => {
    await login(page, 'admin');
    await page.getByRole('link', { name: '接口密钥' }).click();
    await page.waitForURL('**/console/api-keys');
    assert.ok((await page.locator('h1').innerText()).includes('接口密钥'));
    await assertNoHorizontalOverflow(page, 'api keys page');
  });

  await step('a bad grid is refused in Chinese, the form keeps its input', async () => {
    await page.locator('input[name="name"]').fill('市12345热线');
    await page.locator('input[name="grid"]').fill('999999');
    await page.getByRole('button', { name: '签发密钥' }).click();
    await page.waitForLoadState();
    const err = await page.locator('.error').innerText();
    assert.ok(err.includes('本区'), `error shown: ${err}`);
    assert.equal(await page.locator('input[name="name"]').inputValue(), '市12345热线');
  });

  await step('issue a key: shown once, listed by its prefix', async () => {
    await page.locator('input[name="grid"]').fill(DISTRICT);
    await page.getByRole('button', { name: '签发密钥' }).click();
    await page.waitForLoadState();
    key = (await page.locator('#new-key').innerText()).trim();
    assert.match(key, /^gz_[0-9a-f]{40}$/);
    const row = page.locator('tr', { hasText: '市12345热线' }).first();
    assert.ok((await row.innerText()).includes(key.slice(0, 10)));
    await shot(page, 'open311-01-key-issued');
    await assertNoHorizontalOverflow(page, 'api keys page with a new key');
    await page.goto(`${BASE_URL}/console/api-keys`);
    assert.equal(await page.locator('#new-key').count(), 0, 'the key is not shown again');
  });

  await step('a client reports with the key', async () => {
    const r = await report(key);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.type, 'application/json; charset=utf-8');
    assert.equal(typeof r.json[0].service_request_id, 'string');
    const one = await fetch(`${BASE_URL}/open311/v2/requests/${r.json[0].service_request_id}.xml`);
    assert.equal(one.headers.get('content-type'), 'text/xml; charset=utf-8');
    assert.ok((await one.text()).includes('<status>open</status>'));
  });

  await step('revoke the key; the client is refused', async () => {
    await page.goto(`${BASE_URL}/console/api-keys`);
    page.once('dialog', (d) => d.accept());
    const row = page.locator('tr', { hasText: key.slice(0, 10) }).first();
    assert.ok((await row.innerText()).trim().length > 0);
    await row.getByRole('button', { name: '停用' }).click();
    await page.waitForURL('**/console/api-keys');
    await page.waitForLoadState();
    assert.ok((await page.locator('tr', { hasText: key.slice(0, 10) }).first().innerText()).includes('已停用'));
    await shot(page, 'open311-02-key-revoked');
    const r = await report(key);
    assert.equal(r.status, 403);
    assert.equal(r.json[0].code, 403);
  });
});
