// The browser tests' harness: headless Chromium (the one installed on the
// machine, e.g. Debian's `chromium`), driven by playwright-core. No browser is
// downloaded. See docs/browser-tests.md.
//
// A step's `tests/step/pages.rs` starts the step's binary and runs its
// `tests/step/pages.mjs` with node's own test runner (`node:test`), setting:
//   BASE_URL        http://127.0.0.1:PORT, the running step
//   CHROMIUM_PATH   the Chromium (or Chrome) binary to drive
//   STEP            the step's name, which starts each screenshot's file name
//   SCREENSHOT_DIR  where screenshots go (target/screenshots)
//
// In `pages.mjs`:
//   const page = await open(t, '/front/users');   // a browser window of its own, watched
//   await screenshot(page, 'users');              // target/screenshots/s04-users.png
//   const [alice, bob] = await Promise.all([open(t, '/a'), open(t, '/b')]);  // two people
//   assert.ok(await inlineScriptIsRefused(page));  // the page's CSP blocks injected scripts
//   const headers = await documentHeaders(page);    // headers of the page's document
//
// Every page opened with `open` is watched until its check ends: the check
// fails if the page asked anything of a host other than this machine, wrote
// an error to the browser console, threw an uncaught exception or opened a
// dialog (alert, confirm, prompt). The one console error let through is the
// refusal that `inlineScriptIsRefused` itself provokes.

import { after } from 'node:test';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

if (!process.env.BASE_URL) {
  throw new Error(
    'BASE_URL is not set. Run the page checks through cargo, which starts the step ' +
      'and sets it: `cargo test -p s04 pages` (see docs/browser-tests.md).',
  );
}

/** The running step: its address, and its API for what a page should show. */
export const app = {
  step: process.env.STEP ?? 'step',
  url: (path) => new URL(path, process.env.BASE_URL).href,
  /** GETs `path` and returns the JSON it answers. */
  async getJson(path) {
    const response = await fetch(app.url(path));
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    return response.json();
  },
  /**
   * Stops the step at once, as a crash would (its connections drop), and
   * starts it again on the same port and database; resolves once it answers.
   */
  async restart() {
    await app.control('restart');
  },
  /**
   * Asks the Rust side (`check_pages`, `check_pages_with`) to do `command`
   * (`restart`; step 23: `kill 1`, `stop redis`...), through a file; resolves
   * once it is done, to the text it answered; throws why it failed.
   */
  async control(command, within = 60_000) {
    const folder = process.env.CONTROL_DIR;
    if (!folder) throw new Error('app.control() needs the Rust side: run the checks through cargo');
    const file = (ending) => join(folder, `${command}.${ending}`);
    writeFileSync(file('asked'), '');
    for (let waited = 0; waited < within; waited += 50) {
      if (existsSync(file('done'))) {
        const answer = readFileSync(file('done'), 'utf8');
        unlinkSync(file('done'));
        return answer;
      }
      if (existsSync(file('failed'))) {
        const why = readFileSync(file('failed'), 'utf8');
        unlinkSync(file('failed'));
        throw new Error(`${command}: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${command} was not done within ${within / 1000} s`);
  },
};

/**
 * Chromium's command line. Playwright adds its own automation flags and a
 * fresh, empty profile (--user-data-dir) for every launch.
 */
export const CHROMIUM_FLAGS = [
  // As root (CI, containers) Chromium refuses to start inside its sandbox.
  '--no-sandbox',
  // Without these, Chromium keeps calling Google's servers (updates, sync,
  // field trials, first-run pages): noise, and refused connections offline.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-gpu',
];

let launched; // one browser for all the checks in a file, started on first use

function browser() {
  launched ??= chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium-headless-shell',
    args: CHROMIUM_FLAGS,
    headless: true,
    timeout: 60_000,
  });
  return launched;
}

after(async () => {
  if (launched) await (await launched).close();
});

/** Loopback and inline URLs stay on this machine; anything else does not. */
export function staysOnThisMachine(url) {
  const { protocol, hostname } = new URL(url);
  if (['data:', 'blob:', 'about:'].includes(protocol)) return true;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}

/**
 * Opens `path` of the running step in a browser window of its own (a context
 * with its page: its own cookies and storage, like another person) and
 * returns the Playwright `Page`. `t` is the check's test context: when the
 * check ends, the window is emptied (see `release`) and the check fails if
 * anything in `page.problems`.
 * The page must answer 200, or the `status` given (`open(t, '/front/messages/99',
 * { status: 404 })`: then Chromium's console error for that status of that
 * document is expected, not a problem). `before(page)`, if given, runs
 * before the page is opened: to route its requests (`page.route`).
 */
export async function open(t, path, { status = 200, before } = {}) {
  const window = idle.pop() ?? (await newWindow());
  const { page, problems } = window;
  problems.length = 0;
  t.after(async () => {
    const left = [...problems];
    await release(window);
    if (left.length > 0) {
      throw new Error(`while ${path} was open:\n  - ${left.join('\n  - ')}`);
    }
  });
  if (status !== 200) statusExpected.set(page, { status, url: app.url(path) });
  await before?.(page);
  const response = await page.goto(app.url(path));
  if (response?.status() !== status) {
    throw new Error(`opening ${path} answered ${response?.status()} ${response?.url()}, not ${status}`);
  }
  return page;
}

/**
 * Windows whose check has ended, emptied, for the next checks: a new context
 * and page cost Chromium 0.19 s of CPU, a page opened again in a kept window
 * 0.12 s, and the page checks are most of the tests' time.
 */
const idle = [];

/** A context and its page, watched (see `watch`). */
async function newWindow() {
  const context = await (await browser()).newContext({
    viewport: { width: 900, height: 600 },
  });
  const problems = await watch(context);
  const page = await context.newPage();
  page.problems = problems; // a check may remove one it expects
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      documents.set(page, response);
    }
  });
  page.setDefaultTimeout(10_000); // fail a missing element in 10 s, not 30
  return { context, page, problems };
}

/**
 * Empties a window whose check has ended, so that nothing of that check is
 * left for the next one: its routes, other pages it opened, its cookies, the
 * window's size, what the harness noted about the page; the page goes to
 * about:blank, which ends its scripts and closes its connections. A window
 * that cannot be emptied is closed instead.
 */
async function release({ context, page, problems }) {
  try {
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    for (const other of context.pages()) if (other !== page) await other.close();
    await page.goto('about:blank');
    await context.clearCookies();
    await page.setViewportSize({ width: 900, height: 600 });
    for (const noted of [statusExpected, consoleErrorsExpected, refusalsExpected, documents]) {
      noted.delete(page);
    }
    idle.push({ context, page, problems });
  } catch {
    await context.close().catch(() => {});
  }
}

/**
 * Records, as readable sentences, what must never happen on a tutorial page.
 * Requests to other hosts are also refused, so a test never waits on them.
 */
export async function watch(context) {
  const problems = [];
  await context.route('**/*', (route) => {
    const request = route.request();
    if (staysOnThisMachine(request.url())) return route.continue();
    problems.push(`requested ${request.url()} (outside this machine)`);
    return route.abort('blockedbyclient');
  });
  const outside = (url) => !staysOnThisMachine(url.href.replace(/^ws/, 'http'));
  await context.routeWebSocket(outside, (socket) => {
    problems.push(`opened a WebSocket to ${socket.url()} (outside this machine)`);
    socket.close();
  });
  const watchPage = (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const expected = refusalsExpected.get(page);
        if (expected?.length && INLINE_SCRIPT_REFUSED.test(message.text())) {
          expected.shift()(); // provoked by inlineScriptIsRefused: not a problem
          return;
        }
        const where = message.location().url;
        const expectedStatus = statusExpected.get(page);
        const failed = DOCUMENT_STATUS.exec(message.text());
        if (expectedStatus && failed && Number(failed[1]) === expectedStatus.status
            && where === expectedStatus.url) {
          return; // the status `open` was told to expect, for the page itself
        }
        if (consoleErrorsExpected.get(page)?.some((pattern) => pattern.test(message.text()))) {
          return; // provoked on purpose by the check: see expectConsoleErrors
        }
        problems.push(`console error: ${message.text()}${where ? ` (${where})` : ''}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`a dialog opened: ${dialog.type()}(${JSON.stringify(dialog.message())})`);
      dialog.dismiss().catch(() => {});
    });
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  return problems;
}

/** Per page: the console errors its check provokes on purpose. */
const consoleErrorsExpected = new WeakMap();

/**
 * Tells the watch of `page` that, from now on, console errors matching
 * `pattern` are provoked by the check itself, not problems: e.g. Chromium's
 * `Failed to load resource: the server responded with a status of 422` when
 * a check sends what the server must refuse. Any other error still fails
 * the check.
 */
export function expectConsoleErrors(page, pattern) {
  consoleErrorsExpected.set(page, [...(consoleErrorsExpected.get(page) ?? []), pattern]);
}

/** Per page opened with a status other than 200: that status and the page's URL. */
const statusExpected = new WeakMap();

/** What Chromium writes to the console for an answer with an error status. */
const DOCUMENT_STATUS = /^Failed to load resource: the server responded with a status of (\d+)/;

/** The response that brought each page's current document (after redirects). */
const documents = new WeakMap();

/**
 * The HTTP response headers of the document `page` shows now (the last
 * top-level navigation: after `open`, its page; after a redirect, the final
 * answer), names in lower case, e.g.
 * `(await documentHeaders(page))['content-security-policy']`.
 */
export async function documentHeaders(page) {
  const response = documents.get(page);
  if (!response) throw new Error('documentHeaders: this page was not opened with open()');
  return response.allHeaders();
}

/**
 * What Chromium writes to the console when a Content-Security-Policy blocks
 * an inline script (the wording changed in Chromium 13x; both are accepted).
 */
const INLINE_SCRIPT_REFUSED =
  /^(?:Refused to execute inline script because it violates|Executing inline script violates) the following Content Security Policy directive/;

/** Per page: one callback per refusal inlineScriptIsRefused awaits in the console. */
const refusalsExpected = new WeakMap();

let injections = 0;

/**
 * Injects an inline script into `page` (as an attacker's markup would: a
 * `<script>` element whose text sets a flag) and tells whether the browser
 * refused to run it: true when the flag stayed unset and the browser reported
 * an enforced Content-Security-Policy violation of `script-src` for it; false
 * when the script ran. The console error Chromium writes for that one refusal
 * does not fail the check; any other console error still does.
 */
export async function inlineScriptIsRefused(page) {
  let seen;
  const consoleSaidSo = new Promise((resolve) => (seen = resolve));
  if (!refusalsExpected.has(page)) refusalsExpected.set(page, []);
  const expected = refusalsExpected.get(page);
  expected.push(seen);
  try {
    const flag = `__inlineScriptRan${++injections}`;
    const { ran, violations } = await page.evaluate(async (flag) => {
      const violations = [];
      let violated;
      const violation = new Promise((resolve) => (violated = resolve));
      const listener = (event) => {
        if (event.blockedURI !== 'inline') return;
        violations.push({
          directive: event.effectiveDirective,
          disposition: event.disposition,
        });
        violated();
      };
      document.addEventListener('securitypolicyviolation', listener);
      try {
        const script = document.createElement('script');
        script.textContent = `window[${JSON.stringify(flag)}] = true;`;
        (document.head ?? document.documentElement).append(script);
        script.remove();
        const ran = window[flag] === true;
        delete window[flag];
        // The violation event comes in a task of its own, after the refusal.
        if (!ran) await Promise.race([violation, new Promise((r) => setTimeout(r, 2000))]);
        return { ran, violations };
      } finally {
        document.removeEventListener('securitypolicyviolation', listener);
      }
    }, flag);
    const refused =
      !ran &&
      violations.some((v) => v.disposition === 'enforce' && v.directive.startsWith('script-src'));
    if (!ran && !refused) {
      throw new Error(
        'inlineScriptIsRefused: the injected script did not run, but the browser reported ' +
          `no Content-Security-Policy violation of script-src for it (${JSON.stringify(violations)})`,
      );
    }
    // Wait for the refusal's console error, so that it is let through now
    // and not mistaken for a problem once this function has returned.
    if (refused) await within(consoleSaidSo, 2000);
    return refused;
  } finally {
    const left = expected.indexOf(seen);
    if (left >= 0) expected.splice(left, 1);
  }
}

/** Waits for `promise`, but no longer than `ms` milliseconds. */
async function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Saves a picture of the whole page as <SCREENSHOT_DIR>/<step>-<name>.png. */
export async function screenshot(page, name) {
  const folder = process.env.SCREENSHOT_DIR || join(here, '..', '..', 'target', 'screenshots');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${app.step}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
