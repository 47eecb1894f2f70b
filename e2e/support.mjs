// Shared helpers for the browser tests: launch Debian's Chromium, open a page at a size, sign in,
// check a page for sideways scrolling at 390 px, ISO timestamps and English codes, audit every page
// a test opens (axe-core's WCAG 2.1 A/AA rules, text and target sizes), and run steps that stop
// after the first failure.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
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
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  return auditEvery(browser);
}

/** Every page of every context of `browser` is audited as it loads (see `watch`). */
export function auditEvery(browser) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    const newPage = context.newPage.bind(context);
    context.newPage = async () => watch(await newPage());
    return context;
  };
  return browser;
}

/**
 * Audit every HTML page a test's browser loads, whether a test opened it, a click or a form led
 * there: the audit starts at the page's `load` event, and its failure is thrown by the next
 * `page.goto`, the end of the step (`stepper`) or `checkChinesePage`. A page the test leaves
 * before its audit ends is not judged (the audit reads a page that is gone); the page a test
 * opens with `goto` always is, before `goto` returns.
 */
const audits = new WeakMap();
function watch(page) {
  const state = { running: new Set(), failures: [] };
  audits.set(page, state);
  page.on('load', () => {
    const url = page.url();
    const run = (async () => {
      const html = await page.evaluate(() => document.contentType === 'text/html').catch(() => false);
      if (html) await auditPage(page, `the page loaded at ${new URL(url).pathname}`);
    })()
      .catch((e) => {
        if (!/context was destroyed|has been closed|detached|navigat/i.test(String(e && e.message))) state.failures.push(e);
      })
      .finally(() => state.running.delete(run));
    state.running.add(run);
  });
  const goto = page.goto.bind(page);
  page.goto = async (url, options) => {
    await settle(page);
    const resp = await goto(url, options);
    await settle(page);
    return resp;
  };
  return page;
}

/** Waits for the page's audits under way and throws the first that failed. */
export async function settle(page) {
  const state = audits.get(page);
  if (!state) return;
  while (state.running.size) await Promise.all([...state.running]);
  const failure = state.failures.shift();
  state.failures.length = 0;
  if (failure) throw failure;
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
  await settle(page);
  await auditPage(page, what);
}

// Evaluated through the debugging protocol, which the pages' Content-Security-Policy does not govern.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
// GONGZHI_E2E_AUDIT_LOG=1 prints each page audited, to see what the audit covers.
const AUDIT_LOG = !!process.env.GONGZHI_E2E_AUDIT_LOG;

/**
 * WCAG 2.1 A/AA by axe-core (loaded from node_modules, no network), then what the elderly-use
 * rules (适老化) add: no text under 14 px (18 px in 长辈版), no input under 16 px, no tap target
 * under 44×44 px (60×60 in 长辈版). Fails naming the rule, the elements and the page.
 */
export async function auditPage(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const violations = await page.evaluate(async (tags) => {
    // axe refuses to run twice at once in one page (a load's audit and a check's).
    while (window.__auditing) await new Promise((r) => setTimeout(r, 20));
    window.__auditing = true;
    try {
      const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
    } finally {
      window.__auditing = false;
    }
  }, WCAG21_AA);
  assert.deepEqual(violations, [], `${what} (${here(page)}) fails WCAG 2.1 AA (axe-core):\n  ${violations.join('\n  ')}`);
  const sizes = await page.evaluate(measureSizes);
  if (AUDIT_LOG) console.log(`# audited: ${what} (${here(page)})`);
  assert.deepEqual(sizes, [], `${what} (${here(page)}) fails the size rules:\n  ${sizes.join('\n  ')}`);
}

/** Runs in the page: text, input and target sizes against the rules, as a list of failures. */
function measureSizes() {
  const elder = document.documentElement.classList.contains('elder');
  const minText = elder ? 18 : 14;
  const minTarget = elder ? 60 : 44;
  const slack = 0.5;
  const name = (el) => {
    const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 12);
    return `${el.tagName.toLowerCase()}${cls}${text ? ` "${text}"` : ''}`;
  };
  // Visible to the eye: rendered, not transparent, and not clipped to a point (a visually hidden
  // element speaks to screen readers only; its label is what a finger taps).
  const seen = (el) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 2 && r.height > 2;
  };
  // A map or chart is a picture: its labels scale with it, and the same links are listed beside it.
  const inPicture = (el) => !!el.closest('svg');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const small = new Map();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || inPicture(el) || el.closest('script,style,noscript,option')) continue;
    if (!seen(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minText - 0.01 && !small.has(el)) small.set(el, size);
  }
  for (const [el, size] of [...small].slice(0, 6)) out.push(`text ${size}px < ${minText}px: ${name(el)}`);
  if (small.size > 6) out.push(`…and ${small.size - 6} more texts under ${minText}px`);

  for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), select, textarea')) {
    if (!seen(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 16 - 0.01) out.push(`input ${size}px < 16px: ${name(el)}`);
  }

  const targets = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex="-1"])');
  let many = 0;
  for (const el of targets) {
    if (inPicture(el)) continue;
    let box = el;
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      // A box may be small (24 px at least) inside a label that is the real target.
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      const r = el.getBoundingClientRect();
      if (seen(el) && (r.width < 24 - slack || r.height < 24 - slack)) out.push(`checkbox ${Math.round(r.width)}×${Math.round(r.height)} < 24px: ${name(label || el)}`);
      if (!label) {
        if (seen(el)) out.push(`checkbox without a label: ${name(el)}`);
        continue;
      }
      box = label;
    } else if (el.matches('input[type=file]') && !seen(el)) {
      const label = el.closest('label');
      if (!label) continue;
      box = label;
    }
    if (!seen(box)) continue;
    // A link inside a sentence is sized by the sentence's lines (WCAG 2.5.8's inline exception).
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') {
      const parent = el.parentElement;
      const words = [...parent.childNodes].some((c) => c !== el && c.nodeType === Node.TEXT_NODE && c.textContent.trim());
      if (words) continue;
    }
    const r = box.getBoundingClientRect();
    if (r.width < minTarget - slack || r.height < minTarget - slack) {
      if (many++ < 6) out.push(`target ${Math.round(r.width)}×${Math.round(r.height)} < ${minTarget}×${minTarget}: ${name(box)}`);
    }
  }
  if (many > 6) out.push(`…and ${many - 6} more targets under ${minTarget}×${minTarget}`);
  return out;
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
        await settle(page);
      } catch (e) {
        broken = true;
        await shot(page, `FAILED-${name.replace(/[^\w.-]+/g, '_')}`).catch(() => {});
        throw e;
      }
    });
}
