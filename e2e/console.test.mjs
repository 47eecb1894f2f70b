// End-to-end browser test of the gongzhi console, run against a live
// `gongzhi demo --scale small` server (see e2e/run.sh, which starts one).
//
//   GONGZHI_E2E_URL=http://127.0.0.1:PORT node --test e2e/console.test.mjs
//
// Drives the system Chromium (/usr/bin/chromium, or $CHROMIUM_PATH) through
// playwright-core; no browser is downloaded. Screenshots of every step go to
// e2e/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { assertNoHorizontalOverflow, auditEvery, here, login, settle } from './support.mjs';

const BASE_URL = (process.env.GONGZHI_E2E_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DISTRICT = '411602';
const SHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

if (!BASE_URL) {
  throw new Error(
    'GONGZHI_E2E_URL is not set. Start a demo server and point it there, e.g.\n' +
      '  GONGZHI_E2E_URL=http://127.0.0.1:8080 node --test e2e/console.test.mjs\n' +
      'or just run e2e/run.sh, which does all of that.',
  );
}

let browser;

before(async () => {
  mkdirSync(SHOT_DIR, { recursive: true });
  // Drop failure shots left by an earlier run.
  for (const f of readdirSync(SHOT_DIR)) if (f.startsWith('FAILED-')) rmSync(join(SHOT_DIR, f));
  try {
    browser = auditEvery(await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    }));
  } catch (e) {
    throw new Error(`could not launch Chromium at ${CHROMIUM} (apt-get install -y chromium?): ${e.message}`);
  }
});

after(async () => {
  await browser?.close();
});

async function newPage(viewport, mobile) {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: mobile ? 2 : 1,
    isMobile: mobile,
    hasTouch: mobile,
    locale: 'zh-CN',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  page.setDefaultNavigationTimeout(15_000);
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: true });
}


function gridCode(page) {
  const m = /^\/console\/grids\/(\d+)$/.exec(new URL(page.url()).pathname);
  return m ? m[1] : null;
}

test('phone 390px: admin drills district → building → household → resident and reveals the ID number', { timeout: 45_000 }, async (t) => {
  const { context, page } = await newPage(PHONE, true);
  t.after(() => context.close());
  // Each step is a subtest; once one fails the rest are skipped rather
  // than failing with confusing follow-on errors.
  let broken = false;
  const step = (name, fn) =>
    t.test(name, async (st) => {
      if (broken) return st.skip('an earlier step failed');
      try {
        await fn();
        await settle(page);
      } catch (e) {
        broken = true;
        await shot(page, `FAILED-${name.replace(/[^\w.-]+/g, '_')}`).catch(() => {});
        throw e;
      }
    });

  await step('login as admin', async () => {
    await page.goto(`${BASE_URL}/login`);
    await shot(page, 'phone-01-login');
    await login(page, 'admin');
    // The district lands on the command centre's screen; its 网格 link opens the district's grid.
    assert.equal(new URL(page.url()).pathname, '/console/command', `after login expected /console/command, got ${here(page)}`);
    await page.goto(`${BASE_URL}/console/grids/${DISTRICT}`);
    assert.equal(gridCode(page), DISTRICT, `expected /console/grids/${DISTRICT}, got ${here(page)}`);
  });

  await step('district page is zh-CN and lists 下级网格', async () => {
    const lang = await page.locator('html').getAttribute('lang');
    assert.equal(lang, 'zh-CN', `<html lang> should be zh-CN, is ${JSON.stringify(lang)}`);
    const body = await page.locator('body').innerText();
    assert.ok(body.includes('下级网格'), `district page ${here(page)} does not show 下级网格`);
    await shot(page, 'phone-02-grid-district');
    await assertNoHorizontalOverflow(page, 'district grid page');
  });

  const levels = [
    [9, 'street'],
    [12, 'community'],
    [15, 'compound'],
    [18, 'building'],
  ];
  for (const [i, [len, label]] of levels.entries()) {
    await step(`open first child → ${label} (${len}-digit code)`, async () => {
      const before = gridCode(page);
      const link = page.locator('ul.children > li a.name').first();
      assert.ok((await link.count()) > 0, `grid ${before} (${here(page)}) has no child links in ul.children`);
      const name = (await link.innerText()).trim();
      await Promise.all([page.waitForURL((u) => u.pathname !== `/console/grids/${before}`), link.click()]);
      const code = gridCode(page);
      assert.ok(code, `clicking child "${name}" of ${before} led to ${here(page)}, not a grid page`);
      assert.equal(code.length, len, `${label} code should have ${len} digits: got ${code} after clicking "${name}" on ${before}`);
      assert.ok(code.startsWith(before), `child code ${code} should extend parent code ${before}`);
      await page.locator('h1').waitFor();
      await shot(page, `phone-0${3 + i}-grid-${label}`);
      await assertNoHorizontalOverflow(page, `${label} grid page`);
    });
  }

  await step('open first household of the building', async () => {
    const link = page.locator('table.list a[href^="/console/households/"]').first();
    assert.ok((await link.count()) > 0, `building ${gridCode(page)} lists no households (no /console/households/ links in table.list)`);
    await Promise.all([page.waitForURL('**/console/households/*'), link.click()]);
    await page.locator('h1').waitFor();
    await shot(page, 'phone-07-household');
    await assertNoHorizontalOverflow(page, 'household page');
  });

  await step('open first resident; ID number is masked', async () => {
    const link = page.locator('table.list a[href^="/console/residents/"]').first();
    assert.ok((await link.count()) > 0, `household ${here(page)} lists no residents`);
    await Promise.all([page.waitForURL(/\/console\/residents\/[0-9a-f-]{36}$/), link.click()]);
    const id = (await page.locator('dd#id-number').innerText()).trim();
    assert.ok(id.includes('**********'), `ID number should be masked with ********** before reveal, shows ${JSON.stringify(id)}`);
    await shot(page, 'phone-08-resident-masked');
    await assertNoHorizontalOverflow(page, 'resident page');
  });

  await step('reveal with a reason shows the full ID number', async () => {
    const residentPath = new URL(page.url()).pathname;
    await page.locator('input[name="reason"]').fill('走访核实');
    await Promise.all([
      page.waitForLoadState('load'),
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/reveal')),
      page.getByRole('button', { name: '查看', exact: true }).click(),
    ]);
    await page.locator('.notice').waitFor().catch(() => {});
    const notice = await page.locator('.notice').allInnerTexts();
    assert.ok(
      notice.some((n) => n.includes('已显示完整信息')),
      `after reveal expected notice 已显示完整信息 on ${here(page)}, got ${JSON.stringify(notice)}; errors: ${JSON.stringify(await page.locator('.error').allInnerTexts())}`,
    );
    const id = (await page.locator('dd#id-number').innerText()).trim();
    assert.ok(!id.includes('*'), `revealed ID number still contains '*': ${JSON.stringify(id)}`);
    assert.match(id, /^\d{17}[\dX]$/, `revealed ID number should be 18 chars (17 digits + digit/X), is ${JSON.stringify(id)}`);
    assert.ok(new URL(page.url()).pathname.startsWith(residentPath), `reveal left the resident page for ${here(page)}`);
    await shot(page, 'phone-09-resident-revealed');
    await assertNoHorizontalOverflow(page, 'resident page (revealed)');
  });

  await step('resident search page fits the phone width', async () => {
    const resp = await page.goto(`${BASE_URL}/console/residents?q=${encodeURIComponent('王')}`);
    assert.ok(resp && resp.ok(), `GET /console/residents?q=王 answered ${resp && resp.status()}`);
    await page.locator('table.list').waitFor();
    await shot(page, 'phone-10-residents-search');
    await assertNoHorizontalOverflow(page, 'resident search page');
  });
});

test('desktop 1280px: community staff searches residents by surname 王', { timeout: 30_000 }, async (t) => {
  const { context, page } = await newPage(DESKTOP, false);
  t.after(() => context.close());

  await login(page, 'community');
  // Use the navigation like a person would: 居民 in the header.
  const nav = page.locator('header.top nav a[href="/console/residents"]');
  assert.ok((await nav.count()) > 0, `community user sees no 居民 link in the header on ${here(page)}`);
  await Promise.all([page.waitForURL('**/console/residents*'), nav.click()]);

  const form = page.locator('form.search');
  await form.locator('input[name="q"]').fill('王');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/console/residents' && u.searchParams.get('q') === '王'),
    form.getByRole('button', { name: '查询' }).click(),
  ]);
  await page.locator('table.list').waitFor();
  await shot(page, 'desktop-01-residents-search-wang');

  const names = (await page.locator('table.list tbody td[data-label="姓名"]').allInnerTexts()).map((s) => s.trim());
  assert.ok(names.length > 0, `searching 王 as community returned no rows on ${here(page)}: ${JSON.stringify(await page.locator('table.list tbody').innerText())}`);
  const wrong = names.filter((n) => !n.startsWith('王'));
  assert.deepEqual(wrong, [], `every result name should start with 王; these do not: ${wrong.join('、')} (of ${names.length})`);
});
