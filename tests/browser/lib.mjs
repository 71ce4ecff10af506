// What the browser tests share: the real suite started with demo data (scripts/run.sh on a private
// PostgreSQL cluster in a temporary directory, the gateway on a free port), Debian's Chromium
// driven by playwright-core, keyboard-only use of the pages, axe-core on every page, screenshots.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core and axe-core are the web UI's npm packages (ui/package.json).
const uiRequire = createRequire(path.join(root, 'ui/package.json'));
const { chromium } = uiRequire('playwright-core');
const axeSource = fs.readFileSync(uiRequire.resolve('axe-core/axe.min.js'), 'utf8');

export const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'tessera-demo';

export function log(message) {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${message}\n`);
}

export function fail(message) {
  throw new Error(message);
}

export function expect(condition, message) {
  if (!condition) fail(message);
}

// The suite as `make run` starts it, in a directory of its own; stop() ends it and removes it.
export async function startSuite(binDir) {
  // PostgreSQL's socket path must be short: a directory straight under /tmp.
  const dir = fs.mkdtempSync(path.join('/tmp', 'tsr-ui-'));
  // As root, the cluster belongs to the postgres user, who must be able to enter the directory.
  fs.chmodSync(dir, 0o755);
  const child = spawn(path.join(root, 'scripts/run.sh'), [], {
    env: {
      ...process.env,
      TESSERA_INSTANCE: dir,
      TESSERA_HTTP_ADDR: '127.0.0.1:0',
      TESSERA_BIN_DIR: binDir,
      // The journeys rename each CP-IS file into the spool whole and have the poller read it at once.
      TESSERA_SPOOL_SETTLE_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Should this test be killed (a ctest timeout), a watchdog stops the suite it started.
  spawn('sh', ['-c', 'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -TERM "$1" 2>/dev/null', String(process.pid), String(child.pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref();
  const stopOnSignal = async () => {
    child.kill('SIGTERM');
    await exited;
    process.exit(1);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const deadline = Date.now() + 90000;
  while (!output.includes('Tessera is running')) {
    if (child.exitCode !== null) fail(`scripts/run.sh stopped before the suite was ready:\n${output}`);
    if (Date.now() > deadline) fail(`the suite was not ready within 90 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const addr = fs.readFileSync(path.join(dir, 'run/gateway.addr'), 'utf8').trim();
  return {
    url: `http://${addr}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 60000))]);
      }
      if (child.exitCode === 0 || child.signalCode) fs.rmSync(dir, { recursive: true, force: true });
      else log(`the suite's files are kept for a look: ${dir}`);
    },
  };
}

// A call to the API, for a test's own set-up (data the journey then finds through the pages).
export async function apiCall(base, token, method, apiPath, body) {
  const response = await fetch(base + apiPath, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) fail(`${method} ${apiPath} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function signInApi(base, username) {
  return (await apiCall(base, null, 'POST', '/api/v1/session', { username, password: PASSWORD })).token;
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: run 'make deps' (Debian's chromium package)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

// Pages and the checks made on each: screenshots named in order, axe-core with no serious or
// critical violation, and no error in the browser's console.
export class Session {
  constructor(browser, base, shotsDir) {
    this.browser = browser;
    this.base = base;
    this.shotsDir = shotsDir;
    this.shots = [];
    this.consoleErrors = [];
    this.failedRequests = [];
  }

  // timezoneId: the zone of the computer the browser runs on (the office's, unless a journey says).
  async open({ timezoneId = 'Europe/London' } = {}) {
    this.context = await this.browser.newContext({ locale: 'en-GB', timezoneId, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(20000);
    this.page.on('console', (m) => {
      // The API's refusals (4xx) are part of the journeys; the browser logs each one it fetched.
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) this.consoleErrors.push(`${this.page.url()}: ${m.text()}`);
    });
    this.page.on('pageerror', (e) => this.consoleErrors.push(`${this.page.url()}: ${e.message}`));
    // Not a fault in itself (a download the page drops, a request given up as the page moves on),
    // but what a failed journey's report shows: a page that never drew may have lost a module.
    this.page.on('requestfailed', (r) => this.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    await this.page.goto(this.base + '/');
    return this.page;
  }

  async close() {
    await this.context?.close();
  }

  // Axe on the page as it now is, then a full-page screenshot.
  async check(name) {
    const page = this.page;
    // Pages are drawn from the API's answers: the journey has waited for what it checks; the
    // styles and fonts must be in too, before axe measures colours and the screenshot is taken.
    await page.evaluate(() => document.fonts.ready.then(() => true));
    // The gateway's Content-Security-Policy refuses an inline script tag; DevTools' evaluation is not
    // the page's and is let through, so axe runs under the same policy as the pages.
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const file = path.join(this.shotsDir, `${String(this.shots.length + 1).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    this.shots.push(file);
    if (bad.length) {
      fail(`axe-core on '${name}' (${page.url()}): ${bad
        .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)
        .join('; ')}`);
    }
    if (this.consoleErrors.length) fail(`errors in the browser's console: ${this.consoleErrors.join('; ')}`);
    const minor = result.violations.filter((v) => !bad.includes(v)).map((v) => `${v.impact} ${v.id}`);
    log(`  page '${name}': axe found no serious or critical violation${minor.length ? ` (${minor.join(', ')})` : ''}; ${path.relative(root, file)}`);
  }
}

// Keyboard only: Tab (never the mouse) until the element has focus, then keys. Fails when the
// element cannot be reached by Tab from where the focus is.
export class Keyboard {
  constructor(page) {
    this.page = page;
  }

  // A page that is still rendering (a search's results replacing the list it started from) can
  // replace the element after it was found: it is then found again, up to three times, rather than
  // tabbing 400 times past an element no longer on the page.
  async focus(locator) {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.focusOnce(locator)) return;
    }
    fail(`${locator} could not be reached with the Tab key`);
  }

  async focusOnce(locator) {
    const handle = await locator.elementHandle();
    expect(handle, `nothing on the page matches ${locator}`);
    // How many Tab presses from the focus to the element, counted over the page's tab order (one
    // stop per group of radios), so that each press need not be followed by a look at the focus.
    const presses = await handle.evaluate((target) => {
      const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
      const order = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')].filter(
        (el) => el.tabIndex >= 0 && !el.disabled && visible(el) && !(el.type === 'radio' && !el.checked &&
          [...document.getElementsByName(el.name)].some((r) => r.checked || r.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)),
      );
      const to = order.indexOf(target);
      if (to < 0 || target === document.activeElement) return 0;
      const from = order.indexOf(document.activeElement);
      if (from >= 0) return to > from ? to - from : -1;
      const next = order.findIndex((el) => document.activeElement.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
      return next >= 0 && next <= to ? to - next + 1 : -1;
    });
    for (let i = 0; i < presses; i++) await this.page.keyboard.press('Tab');
    for (let i = 0; i < 400; i++) {
      const state = await handle.evaluate((el) => (el === document.activeElement ? 'focused' : el.isConnected ? 'elsewhere' : 'gone'));
      if (state === 'focused') return true;
      if (state === 'gone') return false;
      await this.page.keyboard.press('Tab');
    }
    fail(`${locator} could not be reached with the Tab key`);
  }

  async type(locator, text) {
    await this.focus(locator);
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.press('Delete');
    await this.page.keyboard.type(text);
  }

  // A button or link: Enter. A checkbox: Space. A radio: Tab reaches its group (at the checked
  // radio, or the first), then the arrow keys move to it, and choose it, as browsers do.
  async press(locator) {
    const kind = await locator.evaluate((el) => (el.tagName === 'INPUT' ? el.type : el.tagName));
    if (kind === 'radio') return this.radio(locator);
    await this.focus(locator);
    await this.page.keyboard.press(kind === 'checkbox' ? 'Space' : 'Enter');
  }

  async radio(locator) {
    const handle = await locator.elementHandle();
    const entry = await handle.evaluateHandle((el) => {
      const group = [...document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)].filter((r) => r.form === el.form);
      return group.find((r) => r.checked) || group[0];
    });
    for (let i = 0; i < 400 && !(await entry.evaluate((el) => el === document.activeElement)); i++) await this.page.keyboard.press('Tab');
    expect(await entry.evaluate((el) => el === document.activeElement), `the radios of ${locator} could not be reached with the Tab key`);
    for (let i = 0; i < 50; i++) {
      if (await handle.evaluate((el) => el === document.activeElement)) {
        if (!(await handle.evaluate((el) => el.checked))) await this.page.keyboard.press('Space');
        return;
      }
      await this.page.keyboard.press('ArrowDown');
    }
    fail(`${locator} could not be reached with the arrow keys`);
  }

  // A <select>: the arrow keys until the option whose text starts with `text` is chosen.
  async choose(locator, text) {
    await this.focus(locator);
    await this.page.keyboard.press('Home');
    for (let i = 0; i < 100; i++) {
      const chosen = await locator.evaluate((el) => el.options[el.selectedIndex]?.text || '');
      if (chosen.startsWith(text)) return;
      await this.page.keyboard.press('ArrowDown');
    }
    fail(`no option starting '${text}' in ${locator}`);
  }

  // The Design System's date input (the locator is its .govuk-date-input): day, month and year typed
  // into their boxes as a worker types them (7, 12, 2026), and with a time (HH:MM) its hour and minute.
  async date(locator, isoDate, time) {
    const id = await locator.getAttribute('id');
    expect(id && (await locator.evaluate((el) => el.classList.contains('govuk-date-input'))), `${locator} is not a date input`);
    const [y, m, d] = isoDate.split('-');
    const parts = { day: String(Number(d)), month: String(Number(m)), year: y };
    if (time) [parts.hour, parts.minute] = time.split(':');
    for (const [part, value] of Object.entries(parts)) await this.type(this.page.locator(`#${id}-${part}`), value);
  }
}
