// check.mjs opens a Conveyor report in headless Chromium (Debian's, driven by
// playwright-core) and says, as one JSON line on stdout, what a person would
// meet: console errors, uncaught exceptions, dialogs (an alert() would mean
// an export value ran as script), blocked requests (the report must need
// no network), each section's presence, and whether the diff's filter works.
// It saves a full-page screenshot.
//
//   node internal/report/browser/check.mjs REPORT.html SCREENSHOT.png section-id...
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';

const [report, screenshot, ...sections] = process.argv.slice(2);
const result = { console: [], pageErrors: [], dialogs: [], requests: [], sections: {}, diff: {} };
// Chromium has been seen to die at launch (SIGSEGV before the first page) on
// a fresh CI machine: a launch that fails is tried again, then with Debian's
// headless shell (the same engine, package chromium-headless-shell) when it is
// there. Only the launch is retried; what the page does is checked once.
const candidates = [...new Set([process.env.CHROMIUM || '/usr/bin/chromium', '/usr/bin/chromium', '/usr/bin/chromium-headless-shell'])]
  .filter((p) => existsSync(p));
const launchFailures = [];
let browser;
launch: for (const executablePath of candidates) {
  // The second attempt runs the browser in one process (no zygote, no
  // renderer processes of its own), in case it is a child that dies.
  for (const [attempt, extra] of [[1, []], [2, ['--no-zygote', '--single-process']]]) {
    try {
      browser = await chromium.launch({
        executablePath,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', ...extra], // playwright gives each launch a new, empty profile
      });
      result.browser = `${executablePath} ${browser.version()}${extra.length ? ' ' + extra.join(' ') : ''}`;
      break launch;
    } catch (e) {
      launchFailures.push(`${executablePath} (attempt ${attempt}): ${String(e.message || e).split('\n')[0]}`);
      process.stderr.write(`check.mjs: ${executablePath} did not start (attempt ${attempt}):\n${e.message || e}\n`);
    }
  }
}
if (!browser) {
  throw new Error(`no Chromium would start: ${launchFailures.join('; ') || 'none found (apt-get install chromium)'}`);
}
result.launchFailures = launchFailures;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') result.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => result.pageErrors.push(String(e)));
  page.on('dialog', async (d) => { result.dialogs.push(`${d.type()}: ${d.message()}`); await d.dismiss(); });
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) result.requests.push(r.url()); });
  await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
  for (const id of sections) {
    const el = await page.$(`section#${id}`);
    result.sections[id] = el ? await el.evaluate((e) => ({ visible: e.offsetHeight > 0, heading: (e.querySelector('h2') || {}).textContent || '' })) : null;
  }
  const rows = async () => page.$$eval('#diff-rows tr', (trs) => trs.length);
  result.diff.controlsShown = await page.$eval('#diff-controls', (e) => !e.hidden).catch(() => false);
  result.diff.rows = await rows();
  const kinds = await page.$$eval('#diff-kind option', (os) => os.map((o) => o.value).filter(Boolean)).catch(() => []);
  if (kinds.length > 1) {
    await page.selectOption('#diff-kind', kinds[kinds.length - 1]);
    result.diff.filteredKind = kinds[kinds.length - 1];
    result.diff.filteredRows = await rows();
    result.diff.filteredKinds = await page.$$eval('#diff-rows tr td:first-child', (tds) => [...new Set(tds.map((t) => t.textContent.trim()))]);
    await page.selectOption('#diff-kind', '');
  }
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
