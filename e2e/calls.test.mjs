// Browser test of live calls (一键智达) in headless Chromium with fake camera and microphone: the
// building's officer keeps 值班通话 open on a 390 px phone; the district admin, on the building's
// grid page at a desk, clicks 视频通话; the officer answers; RTCPeerConnection.getStats() on both
// pages shows media bytes sent AND received; the admin hangs up and the call log holds the call,
// answered, with its duration. Then the officer calls the command centre and the admin, on
// another console page, sees the banner and declines; the log says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { BASE_URL, PASSWORD, PHONE, assertNoHorizontalOverflow, auditEvery, login, newPage, shot, stepper } from './support.mjs';

const BUILDING = '411602001001001001';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let browser;
before(async () => {
  browser = auditEvery(await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
      // A fake camera and microphone, allowed without asking.
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  }));
});
after(async () => {
  await browser?.close();
});

async function token(username) {
  const r = await fetch(`${BASE_URL}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

async function callLog(grid) {
  const t = await token('admin');
  const r = await fetch(`${BASE_URL}/api/v1/calls?grid=${grid}&per_page=5`, { headers: { authorization: `Bearer ${t}` } });
  assert.equal(r.status, 200);
  return r.json();
}

// Bytes sent and received by this page's peer connection, read from getStats().
async function bytes(page) {
  return page.evaluate(async () => {
    const c = window.gongzhiCall;
    if (!c || !c.pc) return { sent: 0, received: 0, state: 'none' };
    const stats = await c.pc.getStats();
    let sent = 0;
    let received = 0;
    stats.forEach((s) => {
      if (s.type === 'outbound-rtp') sent += s.bytesSent || 0;
      if (s.type === 'inbound-rtp') received += s.bytesReceived || 0;
    });
    return { sent, received, state: c.pc.connectionState };
  });
}

async function flowing(page, who) {
  const deadline = Date.now() + 20_000;
  let b;
  while (Date.now() < deadline) {
    b = await bytes(page);
    if (b.sent > 5_000 && b.received > 5_000) return b;
    await page.waitForTimeout(250);
  }
  assert.fail(`${who}: media did not flow both ways: ${JSON.stringify(b)}`);
}

test('a video call from the grid page to the duty page connects, media flows both ways, the log keeps it', async (t) => {
  const callee = await newPage(browser, PHONE, true);
  const caller = await newPage(browser, { width: 1280, height: 800 }, false);
  const step = stepper(t, callee.page);
  const b = callee.page;
  const a = caller.page;

  await step('the building officer keeps 值班通话 open', async () => {
    await login(b, 'building');
    await b.goto(`${BASE_URL}/console/calls`);
    await b.waitForSelector('html[data-calls="ready"]');
    await b.getByText('通话服务已连接').waitFor();
    await b.getByRole('button', { name: /呼叫指挥中心/ }).first().waitFor();
    await assertNoHorizontalOverflow(b, '值班通话');
    await shot(b, 'calls-duty-phone');
  });

  await step('the admin calls the officer from the building\'s grid page', async () => {
    await login(a, 'admin');
    await a.goto(`${BASE_URL}/console/grids/${BUILDING}`);
    await a.waitForSelector('html[data-calls="ready"]');
    const row = a.locator('#call-panel li', { hasText: '在线' }).first();
    await row.waitFor();
    await shot(a, 'calls-grid-panel');
    await row.getByRole('button', { name: '视频通话' }).click();
    await a.locator('#call-view').waitFor();
  });

  await step('the officer\'s phone rings and they answer', async () => {
    const accept = b.locator('[data-call-accept]');
    await accept.waitFor({ timeout: 10_000 });
    await shot(b, 'calls-incoming-phone');
    await accept.click();
    await b.locator('#call-view').waitFor();
  });

  await step('media bytes flow both ways on both pages (getStats)', async () => {
    const ab = await flowing(a, 'caller');
    const bb = await flowing(b, 'callee');
    assert.equal(ab.state, 'connected');
    assert.equal(bb.state, 'connected');
    // The view shows the running time and the same counters.
    await b.waitForFunction(() => Number(document.querySelector('#call-view')?.getAttribute('data-bytes-received') || 0) > 0);
    await assertNoHorizontalOverflow(b, 'the call view');
    await shot(b, 'calls-in-call-phone');
    await shot(a, 'calls-in-call-desk');
  });

  await step('the admin hangs up; the log holds the call, answered, with its duration', async () => {
    await a.waitForTimeout(1_500);
    await a.getByRole('button', { name: '挂断' }).click();
    await b.locator('#call-view[data-ended="1"]').waitFor();
    let row;
    for (let i = 0; i < 20 && !(row && row.outcome); i++) {
      row = (await callLog(BUILDING)).items[0];
      if (!row.outcome) await a.waitForTimeout(100);
    }
    assert.equal(row.outcome, 'answered', JSON.stringify(row));
    assert.equal(row.kind, 'video');
    assert.equal(row.caller_name.length > 0, true);
    assert.ok(row.duration_ms >= 1_500 && row.duration_ms < 120_000, `duration ${row.duration_ms}`);
    // The duty page reloads with the call in its log.
    await b.waitForURL(/\/console\/calls/);
    await b.locator('#call-log', { hasText: '已接通' }).waitFor();
    await shot(b, 'calls-log-phone');
  });

  await step('the officer calls the command centre; the admin, on another page, sees the banner and declines', async () => {
    await a.goto(`${BASE_URL}/console/cases`);
    await a.waitForSelector('html[data-calls="ready"]');
    await b.getByRole('button', { name: '呼叫指挥中心（语音）' }).click();
    const banner = a.locator('.call-banner', { hasText: '呼叫指挥中心' });
    await banner.waitFor({ timeout: 10_000 });
    await shot(a, 'calls-banner-desk');
    await banner.getByRole('button', { name: '拒绝' }).click();
    await b.locator('#call-view[data-ended="1"]').waitFor();
    let row;
    for (let i = 0; i < 20 && !(row && row.outcome); i++) {
      row = (await callLog(BUILDING)).items[0];
      if (!row.outcome) await a.waitForTimeout(100);
    }
    assert.equal(row.target, 'command');
    assert.equal(row.outcome, 'declined');
  });

  await callee.context.close();
  await caller.context.close();
});
