// Drives the packaged extension inside a real VS Code (code-server) with headless Chromium.
// Started by scripts/test-vscode.sh, which installs everything and passes these variables:
//   CODE_SERVER       code-server launcher       PROMPTSTACK_BIN  the server binary under test
//   PLAYWRIGHT_CORE   playwright-core directory  CHROMIUM         browser executable
//   SANDBOX           temp dir holding user-data/, extensions/, home/, workspace/
//   ARTIFACTS         where screenshots and logs go
// Prints one `ok`/`FAIL` line per step and exits non-zero on the first failure. VS Code runs
// with its defaults, AI features included; a local OpenAI-compatible server (started here)
// answers the AI review.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
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
  // The list filters asynchronously: wait until the focused row is the file, then open it.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: path.basename(name) }).first()
    .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: path.basename(name) }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
}

/** Types `/` + query, waits for `label` in the suggest widget (asking explicitly if needed). */
async function suggest(query, label) {
  await page.keyboard.type('/', { delay: 50 });
  await page.keyboard.type(query, { delay: 80 });
  const row = page.locator('.suggest-widget .monaco-list-row', { hasText: label }).first();
  try {
    await row.waitFor({ state: 'visible', timeout: 8000 });
  } catch {
    await page.keyboard.press('Control+Space');
    await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  }
  return row;
}

/** Accepts `label` from the open suggest widget: Enter once it is the focused row (the list may
 * still be re-rendering while results arrive, so a click could land on another item). */
async function accept(label) {
  const focused = page.locator('.suggest-widget .monaco-list-row.focused', { hasText: label }).first();
  try {
    await focused.waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    await page.locator('.suggest-widget .monaco-list-row', { hasText: label }).first().click();
    return;
  }
  await page.keyboard.press('Enter');
}

/** Runs a palette command by its title. */
async function palette(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  // The row that names the command, not whichever row the palette highlights first.
  await row.click();
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

/** Waits until the active editor has keyboard focus (typing before that goes elsewhere). */
async function focusEditor() {
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  await editor.locator('.view-lines').first().click();
  await page.locator('.editor-group-container.active .monaco-editor.focused').first()
    .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
}

/** Waits until the quick input box has focus, then types `text` into it. */
async function typeInQuickInput(text) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const until = Date.now() + STEP_TIMEOUT;
  while (!(await input.evaluate((el) => el === document.activeElement))) {
    if (Date.now() > until) throw new Error('the quick input never got the focus');
    await page.waitForTimeout(100);
  }
  await page.keyboard.type(text, { delay: 60 });
  const typed = await input.inputValue();
  if (!typed.endsWith(text)) throw new Error(`the quick input holds "${typed}", not "${text}"`);
}

/** Moves the cursor with Go to Line (`line` or `line:column`). */
async function goTo(where) {
  await focusEditor();
  await page.keyboard.press('Control+G');
  await typeInQuickInput(where);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT });
}

/** The language shown in the status bar for the active editor. */
async function languageMode() {
  const item = page.locator('[id="status.editor.mode"]').first();
  await item.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  return (await item.innerText()).trim();
}

/** The Problems panel as lines of text (files and their markers), after it has settled. */
async function problems() {
  await palette('Problems: Focus on Problems View');
  const rows = page.locator('.markers-panel .monaco-list-row');
  await rows.first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.waitForTimeout(1500);
  return (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** The marker lines listed under the file row that starts with `file` in the Problems panel. */
function markersOf(lines, file) {
  const start = lines.findIndex((l) => l.startsWith(file));
  if (start < 0) return undefined;
  const out = [];
  for (const line of lines.slice(start + 1)) {
    if (/\.(md|json)\b.*\d+$/.test(line) && !/\[Ln \d+/.test(line)) break;
    out.push(line);
  }
  return out;
}

/** Sets a user setting the way a user does: in the Settings editor, found by its key. */
async function setInSettingsUi(key, value) {
  if (!(await page.locator('.settings-editor').first().isVisible())) {
    await palette('Preferences: Open User Settings');
  }
  const search = page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor').first();
  await search.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await search.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(key, { delay: 20 });
  const row = page.locator('.settings-editor .settings-body .setting-item-contents').first();
  await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  await page.waitForTimeout(800);
  const select = row.locator('select');
  if (await select.count()) {
    await select.first().selectOption(value);
  } else {
    const input = row.locator('input').first();
    await input.fill(value);
    await input.press('Tab');
  }
  await savedIn(USER_SETTINGS, key, value);
  return (await row.innerText()).replace(/\s+/g, ' ').trim();
}

/** The defaults the extension contributes (VS Code removes a setting set back to its default). */
const DEFAULTS = Object.fromEntries(
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    .contributes.configuration.flatMap((c) => Object.entries(c.properties))
    .map(([key, schema]) => [key, schema.default]),
);

/** Waits until VS Code has written `key: value` to a settings file (or removed it, for the default). */
async function savedIn(file, key, value) {
  const until = Date.now() + STEP_TIMEOUT;
  for (;;) {
    try {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (saved[key] === value || (DEFAULTS[key] === value && !(key in saved))) return;
    } catch {
      // being written
    }
    if (Date.now() > until) throw new Error(`${key} = ${value} never reached ${file}`);
    await page.waitForTimeout(200);
  }
}

/** Closes the Settings editor (VS Code 1.139 shows it over the workbench). */
async function closeSettings() {
  const settings = page.locator('.settings-editor').first();
  for (let i = 0; i < 3 && (await settings.isVisible()); i++) {
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
  }
  if (await settings.isVisible()) {
    await palette('View: Close Editor');
  }
  await settings.waitFor({ state: 'hidden', timeout: STEP_TIMEOUT });
}

/** Rewrites a settings.json of the sandbox (VS Code watches it and applies the change). */
function patchSettings(file, patch) {
  const current = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...current, ...patch }, null, 2));
}
const USER_SETTINGS = path.join(SANDBOX, 'user-data', 'User', 'settings.json');
const MACHINE_SETTINGS = path.join(SANDBOX, 'user-data', 'Machine', 'settings.json');

/** A local server speaking the OpenAI Chat Completions format: one review suggestion, one edit. */
function startAiServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ url: req.url, headers: req.headers, body });
      const review = body.includes('Composition to review');
      const content = review
        ? JSON.stringify({ suggestions: [{ type: 'gap', title: 'Name the readers', description: 'Say who reads the notes.', start_line: 3, end_line: 4, prompt_id: null }] })
        : JSON.stringify({ edits: [{ start_line: 3, end_line: 4, new_text: 'Write release notes for operators, grouped by user impact, one sentence each.' }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url.endsWith('/v1/messages')) {
        // The Anthropic Messages format, for the claude provider.
        res.end(JSON.stringify({
          id: 'msg_e2e', type: 'message', role: 'assistant', model: 'claude-e2e',
          content: [{ type: 'text', text: content }], stop_reason: 'end_turn', stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 10 },
        }));
        return;
      }
      res.end(JSON.stringify({
        id: 'chatcmpl-e2e', object: 'chat.completion', created: 1700000000, model: 'e2e-model',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}`, requests }));
  });
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
console.log(`server: completion=${caps.completion} (triggers ${JSON.stringify(caps.triggers)}), commands=${caps.commands.join(',')}`);
if (!caps.completion || !caps.history) {
  console.log('FAIL  server-capabilities: the server under test offers no completion or no history commands');
  process.exit(1);
}

const ai = await startAiServer();
let codeServer;
let browser;

/** Starts code-server on `folder`; with `trust`, Workspace Trust is on (Restricted Mode possible). */
async function launch(folder, { trust = false } = {}) {
  const port = await freePort();
  const log = fs.openSync(path.join(ARTIFACTS, trust ? 'code-server-trust.log' : 'code-server.log'), 'w');
  const args = [
    '--config', process.env.CODE_SERVER_CONFIG || path.join(SANDBOX, 'code-server.yaml'),
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--user-data-dir', path.join(SANDBOX, 'user-data'),
    '--extensions-dir', path.join(SANDBOX, 'extensions'),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  if (!trust) args.push('--disable-workspace-trust');
  codeServer = spawn(CODE_SERVER, [...args, folder], {
    env: { ...process.env, PROMPTSTACK_HOME: HOME },
    stdio: ['ignore', log, log],
    detached: true,
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000);
  console.log(`code-server up on 127.0.0.1:${port} after ${elapsed()}${trust ? ' (Workspace Trust on)' : ''}`);
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${port}` });
  page = await context.newPage();
  const consoleLog = fs.createWriteStream(path.join(ARTIFACTS, trust ? 'browser-console-trust.log' : 'browser-console.log'));
  page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
}

function stopCodeServer() {
  try {
    process.kill(-codeServer.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

const cleanup = async () => {
  try {
    await browser?.close();
  } catch {
    // already gone
  }
  stopCodeServer();
  ai.server.close();
};
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

/** Waits for the active tab to be `name` and the editor to show `text`. */
async function shows(name, text) {
  await page.locator('.tab.active', { hasText: name }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
  const until = Date.now() + STEP_TIMEOUT;
  let seen = '';
  while (!(seen = await editorText()).includes(text)) {
    if (Date.now() > until) throw new Error(`${name} does not show "${text}": ${seen.slice(0, 200)}`);
    await page.waitForTimeout(200);
  }
}

try {
  // Start with AI unconfigured (the default provider, claude, without a key).
  await launch(WORKSPACE);

  await step('open-composition', async (snap) => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'draft.prompt.md' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await quickOpen('draft.prompt.md');
    await shows('draft.prompt.md', 'Release notes for');
    // A *.prompt.md composition is PromptStack's, not VS Code's prompt-file language, and the
    // user is offered the new suffix once.
    const until = Date.now() + STEP_TIMEOUT;
    let mode = '';
    while ((mode = await languageMode()) !== 'PromptStack Composition') {
      if (Date.now() > until) throw new Error(`draft.prompt.md opened as "${mode}"`);
      await page.waitForTimeout(200);
    }
    const hint = await notification(/rename it to draft\.composition\.md/);
    await snap();
    await page.locator('.notification-toast', { hasText: 'draft.composition.md' }).locator('.monaco-button', { hasText: 'Not Now' }).click();
    return `language "${mode}"; hint: "${hint.slice(0, 120)}"`;
  });

  await step('extension-active', async () => {
    // Status bar = the extension; code lens = the server it started; equal numbers = same counting.
    const [chars, lines, tokens] = await statsAgree();
    if (chars < 50 || lines < 3) throw new Error(`implausible counts ${chars}/${lines}/${tokens}`);
    return `status bar and code lens: ${chars} characters, ${lines} lines, ~${tokens} tokens`;
  });

  await step('vscode-prompt-files', async (snap) => {
    // VS Code's AI features are on: its prompt-file checks run on .github/prompts/launch.prompt.md
    // (the control: they fade `title`/`tags` as unsupported there) and must not touch
    // plan.prompt.md, a composition with the same text, which gets PromptStack's one broken-link
    // warning and nothing else.
    await quickOpen('.github/prompts/launch.prompt.md');
    await shows('launch.prompt.md', 'Plan the launch');
    const vscodeMode = await languageMode();
    if (vscodeMode !== 'Prompt') throw new Error(`.github/prompts/launch.prompt.md opened as "${vscodeMode}"`);
    const active = '.editor-group-container.active';
    try {
      await page.locator(`${active} .squiggly-inline-unnecessary`).first().waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
    } catch {
      throw new Error("VS Code's prompt-file checks flagged nothing in launch.prompt.md (AI features off?)");
    }
    const theirs = await page.locator(`${active} .squiggly-inline-unnecessary`).count();
    if (await page.locator('.statusbar-item', { hasText: STATUS_RE }).count()) {
      throw new Error('a VS Code prompt file got the composition status bar item');
    }
    await quickOpen('plan.prompt.md');
    await shows('plan.prompt.md', 'Plan the launch');
    await page.locator(`${active} .squiggly-warning`).first().waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
    await page.waitForTimeout(3000);
    const foreign = await page.locator(`${active} .squiggly-inline-unnecessary, ${active} .squiggly-hint`).count();
    if (foreign) throw new Error(`VS Code's prompt-file checks mark ${foreign} spans in the composition`);
    const lines = await problems();
    const ours = markersOf(lines, 'plan.prompt.md') ?? [];
    await snap();
    const broken = ours.filter((m) => m.includes('missing-spec.md'));
    if (broken.length !== 1) throw new Error(`plan.prompt.md has ${broken.length} broken-link problems: ${JSON.stringify(lines)}`);
    const others = ours.filter((m) => !/promptstack/i.test(m));
    if (others.length) throw new Error(`another checker flags the composition: ${JSON.stringify(others)}`);
    await palette('View: Hide Panel');
    await quickOpen('draft.prompt.md');
    return `launch.prompt.md: VS Code fades ${theirs} attribute(s); plan.prompt.md: ${JSON.stringify(ours)}`;
  });

  await step('library-file', async (snap) => {
    // A library prompt without a title (written now: the server wrote the starter library when it
    // started, and only into an empty directory). The client's selector must cover the library
    // directory for the server to see the file and mark the error; nothing else has validated it.
    const broken = path.join(HOME, 'data', 'library', 'rules', 'untitled-rule.md');
    fs.writeFileSync(broken, '---\ndescription: a rule without a title\n---\nAlways answer in {{text:language}}.\n');
    await palette('File: Open File...');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    // The dialog fills in the workspace folder asynchronously; type the path only after that.
    const until = Date.now() + STEP_TIMEOUT;
    while (!(await input.inputValue()).endsWith('/')) {
      if (Date.now() > until) throw new Error('the Open File dialog never showed its folder');
      await page.waitForTimeout(100);
    }
    // It may still reset the value once more after that: fill until the path stays put.
    for (let attempt = 0; ; attempt++) {
      await input.fill(broken);
      await page.waitForTimeout(500);
      if ((await input.inputValue()) === broken) break;
      if (attempt === 10) throw new Error(`Open File input keeps holding ${await input.inputValue()}`);
    }
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'untitled-rule.md' }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    // The squiggle decoration has no box of its own in some themes: attached is what counts.
    await page.locator('.editor-group-container.active .squiggly-error').first().waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
    const problems = await page.locator('.statusbar-item[id="status.problems"] a, .statusbar-item[id="status.problems"]').first()
      .getAttribute('aria-label').catch(() => '');
    if (await page.locator('.statusbar-item', { hasText: STATUS_RE }).count()) {
      throw new Error('a library prompt got the composition status bar item');
    }
    if (!/Errors: [1-9]/.test(problems ?? '')) throw new Error(`no error counted in the status bar: ${problems}`);
    await snap();
    await quickOpen('draft.prompt.md');
    return `error squiggle on the library file; problems in the status bar: ${problems}`;
  });

  await step('hover-placeholder', async (snap) => {
    // Line 1: "# Release notes for {{text:product}} {{text:version}}"; column 28 is inside "product".
    await goTo('1:28');
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
    const hover = page.locator('.monaco-hover', { hasText: 'placeholder' }).first();
    await hover.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    const text = (await hover.innerText()).replace(/\s+/g, ' ').trim();
    if (!/text placeholder product/.test(text)) throw new Error(`hover says: ${text}`);
    await snap();
    await page.keyboard.press('Escape');
    return `hover: "${text.slice(0, 100)}"`;
  });

  await step('completion-suggest', async () => {
    await focusEditor();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    const row = await suggest('think step', 'Think step by step');
    return `suggest widget lists "${(await row.innerText()).split('\n')[0]}"`;
  });
  await step('completion-accepted', async (snap) => {
    await accept('Think step by step');
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
  await step('completion-snippet-tabstops', async () => {
    // A prompt with placeholders: each becomes a tabstop; typing fills it, Tab moves on.
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await suggest('write tests', 'Write tests');
    await accept('Write tests');
    await page.locator('.editor-group-container.active .view-lines', { hasText: 'Write tests for the code below' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.keyboard.type('pytest', { delay: 30 });
    await page.keyboard.press('Tab');
    await page.keyboard.type('the config parser', { delay: 30 });
    const until = Date.now() + STEP_TIMEOUT;
    let text = '';
    while (Date.now() < until) {
      text = await editorText();
      if (text.includes('using pytest.') && /Code under test\s+the config parser/.test(text)) break;
      await page.waitForTimeout(250);
    }
    if (!text.includes('using pytest.')) throw new Error(`first tabstop not filled: ${text.slice(-600)}`);
    if (!/Code under test\s+the config parser/.test(text)) throw new Error(`Tab did not reach the second tabstop: ${text.slice(-600)}`);
    if (text.includes('{{text:test_framework}}')) throw new Error('the placeholder was inserted literally, not as a snippet');
    await page.keyboard.press('Escape');
    return 'typed "pytest" into tabstop 1 and, after Tab, "the config parser" into tabstop 2';
  });
  await step('save', async () => {
    await page.keyboard.press('Control+S');
    const expected = 'Restate the question';
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

  await step('reindex-library', async (snap) => {
      await palette('PromptStack: Reindex Library');
      const toast = await notification(/library indexed \(\d+ prompts\)/);
      await snap();
      const n = Number(/\((\d+) prompts\)/.exec(toast)[1]);
      if (n < 18) throw new Error(`only ${n} prompts indexed; the starter library has 18`);
      return toast;
    });
  await closeNotifications();

  await step('sync-library', async (snap) => {
    // The workspace names no git source: the server says so rather than doing nothing.
    await palette('PromptStack: Sync Library Sources');
    const toast = await notification(/no git prompt sources in `library.sources`/);
    await snap();
    return toast;
  });
  await closeNotifications();

  await step('publish-library', async (snap) => {
    await palette('PromptStack: Publish Library to an Agent Folder');
    await typeInQuickInput('Agent Skills');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Agent Skills' }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.keyboard.press('Enter');
    // The folder box comes pre-filled (and selected) with .github/skills; typing replaces it.
    await typeInQuickInput('published/skills');
    await page.keyboard.press('Enter');
    const toast = await notification(/PromptStack: \d+ created, 0 updated, 0 removed/);
    await snap();
    const created = Number(/(\d+) created/.exec(toast)[1]);
    const dir = path.join(WORKSPACE, 'published/skills');
    const skills = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'SKILL.md'))) : [];
    if (created < 18 || skills.length !== created) {
      throw new Error(`the toast says ${created} created; ${dir} holds ${skills.length} skill folders`);
    }
    // A skill's `name` must equal its folder's (Agent Skills spec).
    const skill = fs.readFileSync(path.join(dir, skills[0], 'SKILL.md'), 'utf8');
    if (!skill.startsWith('---\n') || !skill.includes(`\nname: ${skills[0]}\n`)) {
      throw new Error(`${skills[0]}/SKILL.md does not name its folder: ${skill.slice(0, 200)}`);
    }
    return `${toast}; ${skills.length} SKILL.md folders under published/skills`;
  });
  await closeNotifications();

  await step('search-history', async () => {
    await palette('PromptStack: Search History');
    await typeInQuickInput('release notes');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: /release notes/i }).first();
    await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    return `result: ${(await row.innerText()).replace(/\s+/g, ' ').slice(0, 120)}`;
  });

  await step('history-opened', async () => {
    await page.keyboard.press('Enter');
    // The history file is named by its save time; the tab shows that name, the editor the text.
    const tab = page.locator('.tab.active').first();
    const until = Date.now() + STEP_TIMEOUT;
    let label = '';
    while (Date.now() < until) {
      label = (await tab.innerText().catch(() => '')).replace(/\s+/g, '');
      if (/^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.md$/.test(label) && (await editorText()).includes('Restate the question')) {
        return `opened the saved composition ${label}`;
      }
      await page.waitForTimeout(250);
    }
    throw new Error(`the active tab is "${label}", not a history entry showing the saved text`);
  });

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
  await step('ai-unconfigured', async (snap) => {
    await quickOpen('draft.prompt.md');
    await palette('PromptStack: Review with AI');
    const toast = await notification(/AI is not configured/);
    if (!toast.includes('Set API Key')) throw new Error(`the message does not say how to configure AI here: ${toast}`);
    await snap();
    return toast.slice(0, 200);
  });
  await closeNotifications();

  await step('ai-review', async (snap) => {
    // Point the openai provider at the local server in the Settings editor (applied live).
    const providerRow = await setInSettingsUi('promptstack.ai.provider', 'openai');
    await snap();
    if (!/Provider/.test(providerRow) || /_/.test(providerRow.split('\n')[0])) throw new Error(`setting title: ${providerRow}`);
    await setInSettingsUi('promptstack.ai.openaiBaseUrl', ai.url);
    await closeSettings();
    await quickOpen('draft.prompt.md');
    const until = Date.now() + STEP_TIMEOUT;
    let toast = '';
    for (;;) {
      await palette('PromptStack: Review with AI');
      toast = await notification(/suggestion|not configured|failed/);
      if (/1 suggestion/.test(toast)) break;
      if (Date.now() > until) throw new Error(`the review ended with: ${toast}`);
      await closeNotifications();
      await page.waitForTimeout(1000);
    }
    await page.locator('.editor-group-container.active .squiggly-info').first().waitFor({ state: 'attached', timeout: STEP_TIMEOUT });
    const lines = await problems();
    const ours = markersOf(lines, 'draft.prompt.md') ?? [];
    if (!ours.some((m) => m.includes('Name the readers'))) throw new Error(`no suggestion in Problems: ${JSON.stringify(lines)}`);
    await snap();
    await palette('View: Hide Panel');
    return `"${toast.slice(0, 80)}"; Problems: ${JSON.stringify(ours)}; ${ai.requests.length} request(s) to the local server`;
  });
  await closeNotifications();

  await step('ai-apply-preview', async (snap) => {
    const row = page.locator('.action-widget .monaco-list-row', { hasText: 'Apply: Name the readers' }).first();
    // Ctrl+. pressed while the editor is still taking focus opens nothing: ask again, as a user
    // would, until the step's time is up.
    const askUntil = Date.now() + STEP_TIMEOUT;
    for (;;) {
      await goTo('3');
      await page.keyboard.press('Control+.');
      try {
        await row.waitFor({ state: 'visible', timeout: 5000 });
        break;
      } catch (e) {
        if (Date.now() > askUntil) throw e;
        await page.keyboard.press('Escape');
      }
    }
    // Walk down to the action, then preview it instead of applying it.
    for (let i = 0; i < 10 && !(await row.getAttribute('class'))?.includes('focused'); i++) {
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Control+Enter');
    const preview = page.locator('.refactor-preview, [id="refactorPreview"]').first();
    await preview.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await page.locator('.monaco-workbench', { hasText: 'operators, grouped by user impact' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    if ((await editorText()).includes('operators, grouped')) throw new Error('the edit was applied before the preview was accepted');
    await snap();
    await page.locator('.monaco-button', { hasText: /^Apply$/ }).first().click();
    await quickOpen('draft.prompt.md');
    const until = Date.now() + STEP_TIMEOUT;
    while (!(await editorText()).includes('Write release notes for operators, grouped by user impact')) {
      if (Date.now() > until) throw new Error(`the accepted edit is not in the editor: ${(await editorText()).slice(0, 300)}`);
      await page.waitForTimeout(200);
    }
    return 'previewed the edit, accepted it: line 3 now names the readers';
  });

  await step('api-key-in-secret-storage', async (snap) => {
    // The claude provider against the local server, its key stored with our command: the key
    // must reach the server (the request carries it) and no settings file or log.
    const KEY = 'sk-ant-e2e-0123456789SECRETKEY';
    await setInSettingsUi('promptstack.ai.provider', 'claude');
    await setInSettingsUi('promptstack.ai.anthropicBaseUrl', ai.url);
    await closeSettings();
    await palette('PromptStack: Set API Key');
    await typeInQuickInput('Anthropic');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'API key' }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await typeInQuickInput(KEY);
    await page.keyboard.press('Enter');
    await notification(/API key stored/);
    await closeNotifications();
    await quickOpen('draft.prompt.md');
    const before = ai.requests.length;
    await palette('PromptStack: Review with AI');
    const toast = await notification(/suggestion|not configured|failed/);
    await snap();
    const sent = ai.requests.slice(before).find((r) => r.url.endsWith('/v1/messages'));
    if (!sent) throw new Error(`no Anthropic request reached the local server; the review said: ${toast}`);
    if (sent.headers['x-api-key'] !== KEY) throw new Error('the request did not carry the stored key');
    if (!/1 suggestion/.test(toast)) throw new Error(`the review ended with: ${toast}`);
    // Nowhere on disk: settings files, the workspace, VS Code's logs (output channels included).
    const leaks = [];
    const scan = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!['extensions', 'CachedExtensionVSIXs', 'node_modules'].includes(entry.name)) scan(full);
        } else if (entry.isFile() && fs.statSync(full).size < 50_000_000) {
          if (fs.readFileSync(full).includes(KEY)) leaks.push(full);
        }
      }
    };
    for (const dir of [path.join(SANDBOX, 'user-data', 'User'), path.join(SANDBOX, 'user-data', 'Machine'), path.join(SANDBOX, 'user-data', 'logs'), WORKSPACE, HOME]) {
      if (fs.existsSync(dir)) scan(dir);
    }
    // VS Code keeps secrets encrypted in its state database; plain text there would be a leak too.
    if (leaks.length) throw new Error(`the key is written in ${leaks.join(', ')}`);
    await closeNotifications();
    return `review through the claude provider with the stored key: "${toast.slice(0, 80)}"; the key is in no settings file, log or workspace file`;
  });

  await step('missing-binary', async (snap) => {
    await closeNotifications();
    // The user points the extension at a binary that is not there, in the settings tab our
    // command opens (the Remote tab in code-server, where machine settings live).
    await palette('PromptStack: Set the Server Path');
    const row = page.locator('.settings-editor .settings-body .setting-item-contents', { hasText: 'Path to the' }).first();
    await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    const tab = (await page.locator('.settings-editor .settings-tabs-widget .action-label.checked').first().innerText().catch(() => '?')).trim();
    await row.locator('input').first().fill('/nonexistent/promptstack');
    await row.locator('input').first().press('Tab');
    await savedIn(MACHINE_SETTINGS, 'promptstack.server.path', '/nonexistent/promptstack');
    await closeSettings();
    await notification(/cannot run \/nonexistent\/promptstack/);
    await closeNotifications();
    // A command now fails at once with the same message (it used to wait for the toast's answer).
    await quickOpen('draft.prompt.md');
    const started = Date.now();
    await palette('PromptStack: Validate Library');
    const toast = await notification(/cannot run \/nonexistent\/promptstack/);
    const failedAfter = Date.now() - started;
    await page.waitForTimeout(2000);
    if (await page.locator('.notification-toast', { hasText: 'validating the library' }).count()) {
      throw new Error('the command is still running after the error');
    }
    await snap();
    await page.locator('.notification-toast', { hasText: 'nonexistent' }).locator('.monaco-button', { hasText: 'Open Settings' }).click();
    await row.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await snap();
    await row.locator('input').first().fill(BIN);
    await row.locator('input').first().press('Tab');
    await savedIn(MACHINE_SETTINGS, 'promptstack.server.path', BIN);
    await closeSettings();
    await quickOpen('draft.prompt.md');
    // The server is back: its size lens is on the composition again.
    await page.locator('.editor-group-container.active .codelens-decoration', { hasText: /characters · \d+ lines/ }).first()
      .waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    return `"${toast.slice(0, 120)}" ${failedAfter} ms after the command; Open Settings showed the setting on the "${tab}" tab; path restored and the server back`;
  });

  // Restricted Mode: a second code-server with Workspace Trust on, on an untrusted folder whose
  // settings point the library at its own files.
  await browser.close();
  browser = undefined;
  stopCodeServer();
  patchSettings(USER_SETTINGS, { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'always' });
  await launch(path.join(SANDBOX, 'untrusted'), { trust: true });

  await step('restricted-mode', async (snap) => {
    const no = page.locator('.monaco-dialog-box .monaco-button', { hasText: /No, I don.t trust/ }).first();
    await no.waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await no.click();
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT });
    await quickOpen('notes.composition.md');
    await shows('notes.composition.md', 'Untrusted');
    const [chars] = await statsAgree();
    await focusEditor();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    // The starter library answers: the workspace's libraryDir setting is ignored here.
    await suggest('think step', 'Think step by step');
    await snap();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.keyboard.type('/evil', { delay: 80 });
    await page.keyboard.press('Control+Space');
    await page.waitForTimeout(3000);
    if (await page.locator('.suggest-widget .monaco-list-row', { hasText: 'Evil prompt' }).count()) {
      throw new Error('Restricted Mode used the workspace setting promptstack.paths.libraryDir');
    }
    await page.keyboard.press('Escape');
    return `Restricted Mode: the extension runs (${chars} characters counted), completion uses the user's library, not the workspace's`;
  });
} catch {
  failed = true;
} finally {
  await cleanup();
}
console.log(`drive: ${failed ? 'FAILED' : 'passed'} in ${elapsed()}`);
process.exit(failed ? 1 : 0);
