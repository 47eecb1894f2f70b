// Shared helpers for the browser tests: launch Debian's Chromium, open a page at a size, sign in,
// check a page for sideways scrolling at 390 px, ISO timestamps and English codes, and run steps
// that stop after the first failure.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.GONGZHI_E2E_URL || '').replace(/\/+$/, '');
export const PASSWORD = 'gongzhi-demo';
export const DISTRICT = '411602';
export const PHONE = { width: 390, height: 844 };
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

if (!BASE_URL) throw new Error('GONGZHI_E2E_URL is not set; run e2e/run.sh, which starts a demo server.');

export async function launch() {
  mkdirSync(SHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

export async function newPage(browser, viewport, mobile) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  page.setDefaultNavigationTimeout(15_000);
  return { context, page };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOT_DIR, `${name}.png`), fullPage: true });
}

// Path of the current page, for messages.
export function here(page) {
  return new URL(page.url()).pathname + new URL(page.url()).search;
}

export async function login(page, username) {
  const resp = await page.goto(`${BASE_URL}/login`);
  assert.ok(resp && resp.ok(), `GET /login answered ${resp && resp.status()}`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/console'), { timeout: 10_000 }).catch(() => {}),
    page.getByRole('button', { name: '登录' }).click(),
  ]);
  const path = new URL(page.url()).pathname;
  if (!path.startsWith('/console')) {
    const err = await page.locator('.error').allInnerTexts();
    assert.fail(`login as ${username} did not reach /console (still on ${path}; error shown: ${err.join(' ') || 'none'})`);
  }
}

/** An RFC 3339 instant, which a page must show as a China-time date instead. */
export const ISO_INSTANT = /\d{4}-\d\d-\d\dT\d\d:/;

/**
 * What every page a person reads must pass: no ISO timestamp and none of `codes` (the feature's
 * English API codes, a RegExp, or null) in the text of `scope`, and no sideways scroll.
 */
export async function checkChinesePage(page, what, codes, scope = 'main') {
  const text = await page.locator(scope).innerText();
  for (const [name, re] of [['an ISO timestamp', ISO_INSTANT], ['an English code', codes]]) {
    const m = re && text.match(re);
    assert.ok(!m, `${what} (${here(page)}) shows ${name}: ${m && m[0]}`);
  }
  await assertNoHorizontalOverflow(page, what);
}

export async function assertNoHorizontalOverflow(page, what) {
  const m = await page.evaluate(() => {
    const doc = document.documentElement;
    const vw = doc.clientWidth;
    // Name the widest offenders, to make a failure actionable.
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 && r.width > 0) {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
        wide.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(r.right)}px)`);
      }
    }
    return { scrollWidth: doc.scrollWidth, wide: wide.slice(0, 5) };
  });
  assert.ok(
    m.scrollWidth <= PHONE.width + 1,
    `${what} (${here(page)}) scrolls sideways at ${PHONE.width}px: scrollWidth ${m.scrollWidth}px. ` +
      `Elements past the right edge: ${m.wide.join(', ') || 'none found'}`,
  );
}

// Subtests that skip the rest once one fails, with a screenshot of the failure.
export function stepper(t, page) {
  let broken = false;
  return (name, fn) =>
    t.test(name, async (st) => {
      if (broken) return st.skip('an earlier step failed');
      try {
        await fn();
      } catch (e) {
        broken = true;
        await shot(page, `FAILED-${name.replace(/[^\w.-]+/g, '_')}`).catch(() => {});
        throw e;
      }
    });
}
