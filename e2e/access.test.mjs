// Browser tests of what elderly residents and people on a keyboard or screen reader need
// (WCAG 2.1 AA, MIIT 适老化), on a 390 px phone. Every page a test opens is also audited by
// `support.mjs` (axe-core, text and target sizes); these tests walk what an audit cannot see:
//   1. /g at 18 px by default; 长辈版 switched on from its header enlarges text to 20 px and
//      controls to 60 px, is remembered on /track and in the console, and switches off again;
//      each phone number is a full-width 拨打 button.
//   2. The first Tab reaches 跳到正文, which moves focus into the page's main content.
//   3. The case page's 上传照片 is reached by Tab (the file input is not `hidden`).
//   4. A browser whose default font is 32 px draws the console at 32 px: sizes are in rem.
//   5. 朗读 on /g hands the page's text to the browser's own speech, in Chinese, and stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { auditPage, BASE_URL, here, launch, login, newPage, PHONE, shot, stepper } from './support.mjs';

const GRID = '411602001001001001';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const px = (page, selector) => page.locator(selector).first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
const isElder = (page) => page.evaluate(() => document.documentElement.classList.contains('elder'));

test('phone 390px: 长辈版 on the public grid page, remembered on /track and in the console', { timeout: 60_000 }, async (t) => {
  const { context, page } = await newPage(browser, PHONE, true);
  t.after(() => context.close());
  const step = stepper(t, page);

  await step('/g is drawn at 18 px by default, each phone number a full-width 拨打 button', async () => {
    await page.goto(`${BASE_URL}/g/${GRID}`);
    assert.equal(await isElder(page), false, 'not in 长辈版 before it is chosen');
    assert.equal(await px(page, 'main p'), 18, 'the public page reads at 18 px');
    const calls = page.locator('main a.button.call');
    assert.ok((await calls.count()) > 0, 'the grid page lists phone numbers to call');
    const main = await page.locator('main .card').last().boundingBox();
    const call = await calls.last().boundingBox();
    assert.match((await calls.last().getAttribute('href')) || '', /^tel:\d/, 'a 拨打 button dials');
    assert.ok(call.width >= main.width - 40, `拨打 spans the card (${call.width} of ${main.width} px)`);
    assert.ok(call.height >= 44, `拨打 is at least 44 px tall (${call.height})`);
  });

  await step('长辈版 in the header: back on the same page, 20 px text, 60 px controls', async () => {
    await Promise.all([page.waitForURL((u) => u.pathname === `/g/${GRID}`), page.getByRole('button', { name: '长辈版' }).click()]);
    await page.waitForLoadState('load');
    assert.equal(await isElder(page), true, `长辈版 is on after the switch (${here(page)})`);
    assert.ok((await px(page, 'main p')) >= 20, 'text is 20 px or more');
    const submit = await page.getByRole('button', { name: '提交' }).boundingBox();
    assert.ok(submit.height >= 60, `the submit button is 60 px tall (${submit.height})`);
    await auditPage(page, '/g in 长辈版');
    await shot(page, 'access-g-elder');
  });

  await step('/track, the login and the console remember it', async () => {
    await page.goto(`${BASE_URL}/track`);
    assert.equal(await isElder(page), true, '/track in 长辈版');
    assert.ok((await px(page, 'main label')) >= 20, '/track reads at 20 px');
    await page.goto(`${BASE_URL}/login`);
    assert.equal(await isElder(page), true, 'the login page in 长辈版');
    await login(page, 'resident');
    assert.equal(await isElder(page), true, 'the console in 长辈版');
    assert.ok((await px(page, 'main')) >= 20, 'console text at 20 px');
    await auditPage(page, 'the console in 长辈版');
    await shot(page, 'access-console-elder');
  });

  await step('标准版 switches it off, on the page it was pressed', async () => {
    await page.goto(`${BASE_URL}/console/me`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/console/me'), page.getByRole('button', { name: '标准版' }).click()]);
    await page.waitForLoadState('load');
    assert.equal(await isElder(page), false, '长辈版 is off');
    assert.equal(await px(page, 'main'), 16, 'console text back at 16 px');
    assert.equal((await context.cookies()).filter((c) => c.name === 'gz_elder').length, 0, 'the cookie is gone');
  });
});

test('phone 390px: the first Tab reaches 跳到正文, which moves focus to the content', { timeout: 30_000 }, async (t) => {
  const { context, page } = await newPage(browser, PHONE, false);
  t.after(() => context.close());
  const step = stepper(t, page);
  for (const path of [`/g/${GRID}`, '/console/inbox']) {
    await step(`${path}: Tab, Enter`, async () => {
      if (path.startsWith('/console') && new URL(page.url()).pathname.startsWith('/g')) await login(page, 'building');
      await page.goto(`${BASE_URL}${path}`);
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => [document.activeElement.textContent.trim(), getComputedStyle(document.activeElement).top]);
      assert.equal(first[0], '跳到正文', `the first Tab on ${path} reaches the skip link`);
      assert.notEqual(first[1], '-100px', 'the skip link shows when it has focus');
      await page.keyboard.press('Enter');
      const focused = await page.evaluate(() => document.activeElement.id);
      assert.equal(focused, 'main', `Enter on 跳到正文 moves focus into the content on ${path}`);
    });
  }
});

test('desk 1280px: 上传照片 on a case page is reached by the keyboard', { timeout: 30_000 }, async (t) => {
  const { context, page } = await newPage(browser, { width: 1280, height: 900 }, false);
  t.after(() => context.close());
  const step = stepper(t, page);
  await step('Tab reaches the photo input under its label', async () => {
    await login(page, 'building');
    await page.goto(`${BASE_URL}/console/cases?grid=${GRID}`);
    const hrefs = await page.locator('main a[href^="/console/cases/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    const href = hrefs.find((h) => /^\/console\/cases\/[0-9a-f-]{36}$/.test(h));
    assert.ok(href, 'a case to open');
    await page.goto(`${BASE_URL}${href}`);
    const input = page.locator('input[type=file][data-upload]');
    assert.equal(await input.count(), 1, 'the case page offers 上传照片');
    assert.equal(await input.evaluate((el) => el.hidden), false, 'the file input is not hidden from the keyboard');
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.matches('input[type=file][data-upload]'));
    }
    assert.ok(reached, 'Tab reaches the photo input within 80 presses');
    const name = await input.evaluate((el) => el.closest('label').textContent.trim());
    assert.equal(name, '上传照片', 'the input is named by its label');
  });
});

test('a browser set to 32 px text draws the pages at 32 px', { timeout: 30_000 }, async (t) => {
  // Chromium's own preference for the default font size, as a reader would set it.
  const dir = mkdtempSync(join(tmpdir(), 'gongzhi-font-'));
  mkdirSync(join(dir, 'Default'));
  writeFileSync(join(dir, 'Default', 'Preferences'), JSON.stringify({ webkit: { webprefs: { default_font_size: 32 } } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    viewport: PHONE,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  t.after(async () => {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const page = context.pages()[0] || (await context.newPage());
  const step = stepper(t, page);
  await step('the root, the text and the inputs follow the setting', async () => {
    await page.goto(`${BASE_URL}/login`);
    assert.equal(await px(page, 'html'), 32, 'the root is the browser’s 32 px');
    assert.equal(await px(page, 'input[name=username]'), 32, 'inputs at 32 px');
    await page.goto(`${BASE_URL}/g/${GRID}`);
    assert.equal(await px(page, 'main p'), 36, 'the public page at 112.5 % of 32 px');
    await shot(page, 'access-32px');
  });
});

test('phone 390px: 朗读 reads the grid page aloud with the browser’s speech and stops', { timeout: 30_000 }, async (t) => {
  const { context, page } = await newPage(browser, PHONE, true);
  t.after(() => context.close());
  const step = stepper(t, page);
  // The browser's speech, recorded instead of spoken (a headless browser has no voice).
  await context.addInitScript(() => {
    window.__spoken = [];
    const speech = {
      speaking: false,
      speak(u) {
        window.__spoken.push({ text: u.text, lang: u.lang });
        this.speaking = true;
      },
      cancel() {
        this.speaking = false;
      },
    };
    Object.defineProperty(window, 'speechSynthesis', { value: speech, configurable: true });
  });
  await step('朗读, then 停止朗读', async () => {
    await page.goto(`${BASE_URL}/g/${GRID}`);
    const title = (await page.locator('main h1').innerText()).trim();
    const button = page.getByRole('button', { name: '朗读' });
    await button.click();
    const spoken = await page.evaluate(() => window.__spoken);
    assert.equal(spoken.length, 1, 'one utterance');
    assert.equal(spoken[0].lang, 'zh-CN');
    assert.ok(spoken[0].text.includes(title.split(' ')[0]) && spoken[0].text.includes('我要反映问题'), `the page's text is read: ${spoken[0].text.slice(0, 60)}`);
    await page.getByRole('button', { name: '停止朗读' }).click();
    assert.equal(await page.evaluate(() => window.speechSynthesis.speaking), false, 'a second press stops');
    assert.equal((await button.innerText()).trim(), '朗读');
  });
});

// Pages that no role's walk or feature test opens otherwise; the audit runs as each one loads.
const REST = [
  ['admin', ['/console/me/password', '/console/stars/config']],
  ['resident', ['/console/me/password']],
  [null, [`/g/${GRID.slice(0, 15)}/council`, '/property/lists', '/track']],
];

test('phone 390px: the pages no other test opens pass the audit too', { timeout: 60_000 }, async (t) => {
  for (const [user, paths] of REST) {
    const { context, page } = await newPage(browser, PHONE, true);
    t.after(() => context.close());
    const step = stepper(t, page);
    await step(`${user || 'no sign-in'}: ${paths.join(', ')}`, async () => {
      if (user) await login(page, user);
      for (const path of paths) {
        const resp = await page.goto(`${BASE_URL}${path}`);
        assert.equal(resp && resp.status(), 200, `${path} answers 200`);
      }
    });
  }
});
