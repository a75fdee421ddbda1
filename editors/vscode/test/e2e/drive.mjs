// Drives the packaged extension inside a real VS Code (code-server) with headless Chromium.
// Started by scripts/test-vscode.sh, which installs everything and passes these variables:
//   CODE_SERVER       code-server launcher       PROMPTSTACK_BIN  the server binary under test
//   PLAYWRIGHT_CORE   playwright-core directory  CHROMIUM         browser executable
//   SANDBOX           temp dir holding user-data/, extensions/, home/, workspace/
//   ARTIFACTS         where screenshots and logs go
// Prints one `ok`/`FAIL`/`gated` line per step and exits non-zero on the first failure.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set`);
  }
  return v;
};
const CODE_SERVER = env('CODE_SERVER');
const BIN = env('PROMPTSTACK_BIN');
const SANDBOX = env('SANDBOX');
const ARTIFACTS = env('ARTIFACTS');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const require = createRequire(path.join(env('PLAYWRIGHT_CORE'), 'package.json'));
const { chromium } = require('playwright-core');

const HOME = path.join(SANDBOX, 'home');
const WORKSPACE = path.join(SANDBOX, 'workspace');
const STEP_TIMEOUT = 60_000;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

fs.mkdirSync(ARTIFACTS, { recursive: true });

/** What the server under test offers, read from its real `initialize` answer. */
async function serverCapabilities() {
  const probeHome = path.join(SANDBOX, 'probe-home');
  const child = spawn(BIN, ['lsp'], { env: { ...process.env, PROMPTSTACK_HOME: probeHome }, stdio: ['pipe', 'pipe', 'ignore'] });
  const send = (msg) => {
    const body = JSON.stringify({ jsonrpc: '2.0', ...msg });
    child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
  const result = await new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no initialize answer from the server in 20 s')), 20_000);
    child.stdout.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const sep = buf.indexOf('\r\n\r\n');
        if (sep < 0) return;
        const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, sep).toString())?.[1]);
        if (buf.length < sep + 4 + len) return;
        const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString());
        buf = buf.subarray(sep + 4 + len);
        if (msg.id === 1) {
          clearTimeout(timer);
          resolve(msg.result);
        }
      }
    });
    child.on('error', reject);
    send({ id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
  });
  send({ id: 2, method: 'shutdown' });
  send({ method: 'exit' });
  setTimeout(() => child.kill(), 2000).unref();
  const caps = result.capabilities ?? {};
  const commands = caps.executeCommandProvider?.commands ?? [];
  return {
    completion: Boolean(caps.completionProvider),
    triggers: caps.completionProvider?.triggerCharacters ?? [],
    history: commands.includes('promptstack.history.search') && commands.includes('promptstack.history.open'),
    commands,
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForHttp(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${url} within ${ms / 1000} s`);
}

let page;
let failed = false;
let shot = 0;

async function screenshot(name) {
  shot += 1;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * Runs one step. `fn(snap)` may call `snap()` at the moment that shows the step's evidence
 * (a toast or a picker about to close); otherwise the screenshot is taken when the step ends.
 */
async function step(name, fn) {
  const t = Date.now();
  let file = '';
  const snap = async () => {
    file = await screenshot(name);
  };
  try {
    const note = await fn(snap);
    if (!file) await snap();
    console.log(`ok    ${name} (${((Date.now() - t) / 1000).toFixed(1)}s)${note ? ` — ${note}` : ''} [${path.basename(file)}]`);
  } catch (e) {
    failed = true;
    try {
      file = await screenshot(`${name}-FAILED`);
    } catch {
      // the page itself may be gone
    }
    console.log(`FAIL  ${name} (${((Date.now() - t) / 1000).toFixed(1)}s): ${e instanceof Error ? e.message : e} [${path.basename(file)}]`);
    throw e;
  }
}

/** Opens a workspace file with Quick Open. */
async function quickOpen(name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(name) }).first()
    .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: path.basename(name) }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
}

/** Runs a palette command by its title. */
async function palette(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.keyboard.press('Enter');
}

async function notification(pattern) {
  const toast = page.locator('.notification-toast', { hasText: pattern }).first();
  await toast.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  return (await toast.innerText()).replace(/\s+/g, ' ').trim();
}

async function closeNotifications() {
  // "Clear all notifications"; harmless when there are none.
  await page.keyboard.press('Escape');
  await palette('Notifications: Clear All Notifications').catch(() => {});
}

/** The visible lines of the active editor (Monaco renders spaces as U+00A0). */
async function editorText() {
  const text = await page.locator('.editor-group-container.active .editor-instance .view-lines').first().innerText();
  return text.replace(/\u00a0/g, ' ');
}

const STATUS_RE = /([\d,]+) chars · ([\d,]+) lines · ~([\d,]+) tokens/;
const LENS_RE = /(\d+) characters · (\d+) lines · ~(\d+) tokens/;
const num = (s) => Number(String(s).replace(/,/g, ''));

async function statusStats() {
  const item = page.locator('.statusbar-item', { hasText: STATUS_RE }).first();
  await item.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const m = STATUS_RE.exec(await item.innerText());
  return m.slice(1, 4).map(num);
}

async function lensStats() {
  const lens = page.locator('.codelens-decoration', { hasText: LENS_RE }).first();
  await lens.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const m = LENS_RE.exec(await lens.innerText());
  return m.slice(1, 4).map(num);
}

/** Polls until the client-side status bar and the server's code lens agree (they count the same text). */
async function statsAgree() {
  const until = Date.now() + STEP_TIMEOUT;
  let last;
  while (Date.now() < until) {
    const [s, l] = await Promise.all([statusStats(), lensStats()]);
    last = { status: s, lens: l };
    if (s.join() === l.join()) return s;
    await page.waitForTimeout(300);
  }
  throw new Error(`status bar and code lens disagree: ${JSON.stringify(last)}`);
}

const caps = await serverCapabilities();
console.log(
  `server: completion=${caps.completion} (triggers ${JSON.stringify(caps.triggers)}), history=${caps.history}, commands=${caps.commands.join(',')}`,
);

const port = await freePort();
const csLog = fs.openSync(path.join(ARTIFACTS, 'code-server.log'), 'w');
const codeServer = spawn(
  CODE_SERVER,
  [
    '--config', process.env.CODE_SERVER_CONFIG || path.join(SANDBOX, 'code-server.yaml'),
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--user-data-dir', path.join(SANDBOX, 'user-data'),
    '--extensions-dir', path.join(SANDBOX, 'extensions'),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    WORKSPACE,
  ],
  { env: { ...process.env, PROMPTSTACK_HOME: HOME }, stdio: ['ignore', csLog, csLog], detached: true },
);
let browser;
const cleanup = async () => {
  try {
    await browser?.close();
  } catch {
    // already gone
  }
  try {
    process.kill(-codeServer.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

try {
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
  console.log(`code-server up on 127.0.0.1:${port} after ${elapsed()}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${port}` });
  page = await context.newPage();
  const consoleLog = fs.createWriteStream(path.join(ARTIFACTS, 'browser-console.log'));
  page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));

  await step('open-composition', async () => {
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WORKSPACE)}`);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'draft.prompt.md' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await input.fill('draft.prompt.md');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'draft.prompt.md' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'draft.prompt.md' }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    const until = Date.now() + STEP_TIMEOUT;
    let text = '';
    while (!(text = await editorText()).includes('Release notes for')) {
      if (Date.now() > until) throw new Error(`the editor does not show the composition: ${text.slice(0, 200)}`);
      await page.waitForTimeout(200);
    }
  });

  await step('extension-active', async () => {
    // Status bar = the extension; code lens = the server it started; equal numbers = same counting.
    const [chars, lines, tokens] = await statsAgree();
    if (chars < 50 || lines < 3) throw new Error(`implausible counts ${chars}/${lines}/${tokens}`);
    return `status bar and code lens: ${chars} characters, ${lines} lines, ~${tokens} tokens`;
  });

  if (caps.completion) {
    await step('completion-suggest', async () => {
      await page.locator('.editor-group-container.active .editor-instance .view-lines').first().click();
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      await page.keyboard.type('/', { delay: 50 });
      await page.keyboard.type('think step', { delay: 80 });
      const widget = page.locator('.suggest-widget');
      const row = widget.locator('.monaco-list-row', { hasText: 'Think step by step' }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: 8000 });
      } catch {
        await page.keyboard.press('Control+Space');
        await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      }
      return `suggest widget lists "${(await row.innerText()).split('\n')[0]}"`;
    });
    await step('completion-accepted', async (snap) => {
      const row = page.locator('.suggest-widget .monaco-list-row', { hasText: 'Think step by step' }).first();
      await row.click();
      const until = Date.now() + STEP_TIMEOUT;
      let text = '';
      while (Date.now() < until) {
        text = await editorText();
        if (text.includes('Restate the question')) break;
        await page.waitForTimeout(250);
      }
      if (!text.includes('Restate the question')) throw new Error(`snippet text not in the editor: ${text.slice(-400)}`);
      if (/^\s*\/think step/m.test(text)) throw new Error('the typed "/think step" was not replaced');
      await snap();
      await page.keyboard.press('Escape');
      return 'editor shows "Restate the question" from the library prompt body';
    });
  } else {
    await step('completion-gated-live-counts', async () => {
      // No completion on this server yet: check that counts follow typing on both sides instead.
      const before = await statsAgree();
      await page.locator('.editor-group-container.active .editor-instance .view-lines').first().click();
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Enter');
      const typed = 'Mention the {{text:audience}} too.';
      await page.keyboard.type(typed, { delay: 20 });
      // The file ends with a newline: Enter on the last (empty) line adds "\n" and two lines.
      const chars = before[0] + 1 + typed.length;
      const expected = [chars, before[1] + 2, Math.ceil(chars / 4)];
      const until = Date.now() + STEP_TIMEOUT;
      let after = before;
      while (Date.now() < until) {
        after = await statsAgree();
        if (after.join() === expected.join()) break;
        await page.waitForTimeout(250);
      }
      if (after.join() !== expected.join()) {
        throw new Error(`counts did not follow typing: before ${before}, after ${after}, expected ${expected}`);
      }
      return `GATED: server has no completionProvider; counts followed typing ${before} → ${after}`;
    });
  }

  await step('save', async () => {
    await page.keyboard.press('Control+S');
    const expected = caps.completion ? 'Restate the question' : '{{text:audience}}';
    const until = Date.now() + STEP_TIMEOUT;
    while (!fs.readFileSync(path.join(WORKSPACE, 'draft.prompt.md'), 'utf8').includes(expected)) {
      if (Date.now() > until) throw new Error(`saved file lacks "${expected}"`);
      await page.waitForTimeout(200);
    }
    await page.locator('.tab.dirty', { hasText: 'draft.prompt.md' }).first().waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
    return `file on disk has "${expected}"`;
  });

  await step('render-composition', async (snap) => {
    await palette('PromptStack: Render Composition');
    // One input box per missing placeholder, in order.
    const values = { product: 'Stackwise', version: '2.4.0', audience: 'operators' };
    const filled = [];
    for (let k = 1; k <= 5; k++) {
      // Titles read "PromptStack: Render — <name> (k/n)"; wait for the k-th box.
      const title = page.locator('.quick-input-widget .quick-input-title', { hasText: new RegExp(`Render — \\w+ \\(${k}/\\d+\\)`) });
      try {
        await title.first().waitFor({ state: 'visible', timeout: k === 1 ? STEP_TIMEOUT : 3000 });
      } catch {
        if (k === 1) throw new Error('no input box for the first missing placeholder');
        break;
      }
      const [, name, total] = /Render — (\w+) \(\d+\/(\d+)\)/.exec(await title.first().innerText());
      filled.push(name);
      await page.locator('.quick-input-widget input').fill(values[name] ?? `value-${name}`);
      await page.keyboard.press('Enter');
      if (k === Number(total)) break;
    }
    const onDisk = fs.readFileSync(path.join(WORKSPACE, 'draft.prompt.md'), 'utf8');
    const expected = [...new Set([...onDisk.matchAll(/\{\{(?:text|list):(\w+)\}\}/g)].map((m) => m[1]))];
    if (filled.slice().sort().join() !== expected.slice().sort().join()) {
      throw new Error(`asked for ${filled} but the composition's placeholders are ${expected}`);
    }
    const toast = await notification('copied to the clipboard');
    await snap();
    const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(clipboard unreadable: ${e})`);
    if (!clip.includes('Release notes for Stackwise 2.4.0')) {
      throw new Error(`clipboard does not hold the rendered text: ${clip.slice(0, 200)}`);
    }
    if (clip.includes('{{')) throw new Error(`clipboard still has placeholders: ${clip.slice(0, 300)}`);
    return `asked for ${filled.join(', ')}; "${toast.slice(0, 90)}"`;
  });
  await closeNotifications();

  await step('validate-library', async (snap) => {
    await palette('PromptStack: Validate Library');
    const toast = await notification(/PromptStack: .*(error|warning|file|prompt)/i);
    await snap();
    return toast;
  });
  await closeNotifications();

  if (caps.history) {
    await step('search-history', async () => {
      await palette('PromptStack: Search History');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await page.keyboard.type('release notes', { delay: 60 });
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: /release notes/i }).first();
      await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      return `result: ${(await row.innerText()).replace(/\s+/g, ' ').slice(0, 120)}`;
    });
    await step('history-opened', async () => {
      await page.keyboard.press('Enter');
      const until = Date.now() + STEP_TIMEOUT;
      while (Date.now() < until) {
        const tabs = await page.locator('.tab').allInnerTexts();
        const active = await page.locator('.tab.active').first().innerText().catch(() => '');
        if (active && !active.includes('draft.prompt.md') && (await editorText()).includes('Release notes for')) {
          return `opened ${active.trim()} (tabs: ${tabs.map((t) => t.trim()).join(', ')})`;
        }
        await page.waitForTimeout(250);
      }
      throw new Error('the chosen history entry did not open');
    });
  } else {
    await step('search-history-gated', async (snap) => {
      await palette('PromptStack: Search History');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      const toast = await notification('promptstack.history.search failed');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Search failed' }).first()
        .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
      await snap();
      await page.keyboard.press('Escape');
      return `GATED: server has no history commands; the extension shows "${toast.slice(0, 110)}"`;
    });
  }

  await step('settings-reach-server', async (snap) => {
    // settings.json sets promptstack.compositions.globs to also match drafts/*.md: the client's
    // document selector and the server (initializationOptions / workspace/configuration) both
    // have to see it for the size lens and the status bar to appear on drafts/idea.md.
    await quickOpen('drafts/idea.md');
    const [chars, lines] = await statsAgree();
    const onDisk = fs.readFileSync(path.join(WORKSPACE, 'drafts/idea.md'), 'utf8');
    if (chars !== [...onDisk].length) throw new Error(`idea.md has ${[...onDisk].length} characters, lens says ${chars}`);
    await snap();
    // A Markdown file outside the globs is not a composition: no lens, no status bar item.
    await quickOpen('notes.md');
    await page.waitForTimeout(3000);
    const lenses = await page.locator('.editor-group-container.active .codelens-decoration', { hasText: LENS_RE }).count();
    const items = await page.locator('.statusbar-item', { hasText: STATUS_RE }).count();
    if (lenses || items) throw new Error(`notes.md shows composition counts (lenses ${lenses}, status items ${items})`);
    return `drafts/idea.md counted (${chars} characters, ${lines} lines); notes.md not`;
  });
} catch {
  failed = true;
} finally {
  await cleanup();
}
console.log(`drive: ${failed ? 'FAILED' : 'passed'} in ${elapsed()}`);
process.exit(failed ? 1 : 0);
