// Shared helpers for the browser tests: launch Debian's Chromium, open a page at a size, sign in,
// check for sideways scrolling at 390 px, and run steps that stop after the first failure.
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

export async function login(page, username) {
  await page.goto(`${BASE_URL}/login`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/console'), { timeout: 10_000 }).catch(() => {}),
    page.getByRole('button', { name: '登录' }).click(),
  ]);
  assert.ok(new URL(page.url()).pathname.startsWith('/console'), `login as ${username} did not reach /console`);
}

export async function assertNoHorizontalOverflow(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width + 1, `${what} scrolls sideways at ${PHONE.width}px: scrollWidth ${width}px`);
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
