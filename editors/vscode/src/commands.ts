// Palette commands: thin UIs over the server's `workspace/executeCommand` contract (docs/commands.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { libraryDir, ServerManager } from './client.ts';
import { reportReview } from './feedback.ts';
import { SECRET_KEYS } from './secrets.ts';

const STANDARD_CATEGORIES = ['workflows', 'commands', 'prompt-decorations', 'rules'];

interface UriResult {
  uri?: string;
}

async function openUri(uri: string | undefined): Promise<void> {
  if (uri) {
    await vscode.window.showTextDocument(vscode.Uri.parse(uri), { preview: false });
  }
}

/** Runs a server command; a failure was already shown, so callers just stop. */
async function call<T>(server: ServerManager, command: string, args?: unknown): Promise<T | undefined> {
  try {
    return await server.execute<T>(command, args);
  } catch {
    return undefined;
  }
}

function withProgress<T>(title: string, task: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, task);
}

export async function newComposition(server: ServerManager): Promise<void> {
  const name = await vscode.window.showInputBox({
    title: 'PromptStack: New Composition',
    prompt: 'File name (optional; .composition.md is added)',
    placeHolder: 'e.g. refactor-plan',
  });
  if (name === undefined) {
    return;
  }
  const args: Record<string, string> = {};
  if (name.trim()) {
    args.name = name.trim();
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder) {
    args.directory = folder.uri.fsPath;
  }
  const result = await call<UriResult>(server, 'promptstack.newComposition', args);
  await openUri(result?.uri);
}

interface SearchResult {
  id: string | number;
  title?: string;
  snippet?: string;
  uri?: string;
  updated_at?: string;
  working_directory?: string;
}

interface HistoryItem extends vscode.QuickPickItem {
  id?: string | number;
}

/** Live search: each keystroke (debounced) asks the server; the server ranks, so no client filtering. */
export async function searchHistory(server: ServerManager): Promise<void> {
  const pick = vscode.window.createQuickPick<HistoryItem>();
  pick.title = 'PromptStack: Search History';
  pick.placeholder = 'Search saved compositions (full text)';
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  let generation = 0;
  let timer: NodeJS.Timeout | undefined;
  let errorShown = false;

  const search = async (query: string) => {
    const mine = ++generation;
    pick.busy = true;
    let items: HistoryItem[];
    try {
      const result = await server.execute<{ results?: SearchResult[] }>(
        'promptstack.history.search',
        { query, limit: 20 },
        { quiet: errorShown },
      );
      const results = result?.results ?? [];
      items = results.map((r) => ({
        id: r.id,
        label: r.title || String(r.id),
        description: [r.updated_at, r.working_directory].filter(Boolean).join(' · '),
        detail: (r.snippet ?? '').replace(/\*\*/g, '').replace(/\s+/g, ' ').trim(),
        alwaysShow: true,
      }));
      if (items.length === 0) {
        items = [{ label: query ? `No saved composition matches "${query}"` : 'No saved compositions yet', alwaysShow: true }];
      }
    } catch (e) {
      errorShown = true;
      items = [{ label: `$(error) Search failed: ${e instanceof Error ? e.message : e}`, alwaysShow: true }];
    }
    if (mine === generation) {
      pick.items = items;
      pick.busy = false;
    }
  };

  pick.onDidChangeValue((value) => {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => void search(value), 150);
  });
  pick.onDidAccept(async () => {
    const chosen = pick.selectedItems[0];
    if (!chosen || chosen.id === undefined) {
      return;
    }
    pick.hide();
    const opened = await call<UriResult>(server, 'promptstack.history.open', { id: chosen.id });
    await openUri(opened?.uri);
  });
  pick.onDidHide(() => {
    if (timer) {
      clearTimeout(timer);
    }
    pick.dispose();
  });
  pick.show();
  await search('');
}

interface CleanupPreview {
  count: number;
  bytes?: number;
  oldest?: string;
  newest?: string;
  files?: string[];
  token?: string;
}

function megabytes(bytes: number | undefined): string {
  return `${((bytes ?? 0) / (1024 * 1024)).toFixed(2)} MB`;
}

export async function cleanupHistory(server: ServerManager): Promise<void> {
  type Option = vscode.QuickPickItem & { args?: Record<string, unknown>; custom?: 'days' | 'keep' };
  const options: Option[] = [
    { label: 'Older than 30 days', args: { older_than_days: 30 } },
    { label: 'Older than 90 days', args: { older_than_days: 90 } },
    { label: 'Older than … days', description: 'choose the age', custom: 'days' },
    { label: 'Keep only the last …', description: 'choose how many to keep', custom: 'keep' },
    { label: 'Everything', description: 'delete the whole history', args: { all: true } },
  ];
  const chosen = await vscode.window.showQuickPick(options, { title: 'PromptStack: Clean Up History', placeHolder: 'What to delete' });
  if (!chosen) {
    return;
  }
  let args = chosen.args;
  if (chosen.custom) {
    const n = await vscode.window.showInputBox({
      title: chosen.label,
      prompt: chosen.custom === 'days' ? 'Delete compositions older than this many days' : 'Keep this many most recent compositions',
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'A whole number'),
    });
    if (n === undefined) {
      return;
    }
    args = chosen.custom === 'days' ? { older_than_days: Number(n) } : { keep_last: Number(n) };
  }
  const preview = await call<CleanupPreview>(server, 'promptstack.history.cleanup', args);
  if (!preview) {
    return;
  }
  if (!preview.count) {
    void vscode.window.showInformationMessage('PromptStack: nothing to clean up.');
    return;
  }
  const files = (preview.files ?? []).slice(0, 10).map((f) => `  ${path.basename(f)}`);
  const more = (preview.files?.length ?? 0) > 10 ? [`  … and ${preview.files!.length - 10} more`] : [];
  const answer = await vscode.window.showWarningMessage(
    `Delete ${preview.count} saved composition${preview.count === 1 ? '' : 's'} (${megabytes(preview.bytes)})?`,
    {
      modal: true,
      detail: [`Oldest: ${preview.oldest ?? '?'}`, `Newest: ${preview.newest ?? '?'}`, '', ...files, ...more].join('\n'),
    },
    'Delete',
  );
  if (answer !== 'Delete') {
    return;
  }
  const done = await call<{ message?: string; deleted?: number }>(server, 'promptstack.history.cleanup', {
    ...args,
    confirm: preview.token,
  });
  if (done) {
    void vscode.window.showInformationMessage(`PromptStack: ${done.message ?? `deleted ${done.deleted} files`}`);
  }
}

export async function rebuildHistory(server: ServerManager): Promise<void> {
  const result = await withProgress('PromptStack: rebuilding history…', () =>
    call<{ compositions?: number }>(server, 'promptstack.history.rebuild'),
  );
  if (result) {
    void vscode.window.showInformationMessage(`PromptStack: history rebuilt (${result.compositions ?? 0} compositions).`);
  }
}

export async function validateLibrary(server: ServerManager): Promise<void> {
  const result = await withProgress('PromptStack: validating the library…', () =>
    call<{ errors?: number; warnings?: number; summary?: string }>(server, 'promptstack.validateLibrary'),
  );
  if (!result) {
    return;
  }
  const summary = result.summary ?? `${result.errors ?? 0} errors, ${result.warnings ?? 0} warnings`;
  if ((result.errors ?? 0) + (result.warnings ?? 0) > 0) {
    const choice = await vscode.window.showWarningMessage(`PromptStack: ${summary}`, 'Show Problems');
    if (choice) {
      await vscode.commands.executeCommand('workbench.actions.view.problems');
    }
  } else {
    void vscode.window.showInformationMessage(`PromptStack: ${summary}`);
  }
}

/** Tags already used in the library, most used first (read from the files' frontmatter). */
export function libraryTags(dir: string): string[] {
  const counts = new Map<string, number>();
  const visit = (d: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory() && depth < 3 && !e.name.startsWith('.')) {
        visit(full, depth + 1);
      } else if (e.isFile() && e.name.endsWith('.md')) {
        let text: string;
        try {
          text = fs.readFileSync(full, 'utf8').slice(0, 4096);
        } catch {
          continue;
        }
        for (const tag of frontmatterTags(text)) {
          counts.set(tag, (counts.get(tag) ?? 0) + 1);
        }
      }
    }
  };
  visit(dir, 0);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
}

/** `tags: [a, b]` or a `tags:` block list inside the leading `---` frontmatter. */
export function frontmatterTags(text: string): string[] {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!m) {
    return [];
  }
  const lines = m[1].split(/\r?\n/);
  const i = lines.findIndex((l) => /^tags\s*:/.test(l));
  if (i < 0) {
    return [];
  }
  const clean = (t: string) => t.trim().replace(/^["']|["']$/g, '').trim();
  const inline = lines[i].replace(/^tags\s*:/, '').trim();
  if (inline.startsWith('[')) {
    return inline.replace(/^\[|\]$/g, '').split(',').map(clean).filter(Boolean);
  }
  if (inline) {
    return inline.split(',').map(clean).filter(Boolean);
  }
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    const item = /^\s*-\s+(.*)$/.exec(l);
    if (!item) {
      break;
    }
    out.push(clean(item[1]));
  }
  return out.filter(Boolean);
}

async function pickTags(suggestions: string[]): Promise<string[] | undefined> {
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem>();
  pick.title = 'PromptStack: Create Prompt — tags';
  pick.placeholder = 'Pick tags, or type a new one';
  pick.canSelectMany = true;
  const base = suggestions.map((t) => ({ label: t }));
  pick.items = base;
  pick.onDidChangeValue((value) => {
    const typed = value.trim();
    const selected = pick.selectedItems;
    const extra = typed && !base.some((b) => b.label === typed) ? [{ label: typed, description: 'new tag' }] : [];
    const kept = selected.filter((s) => !base.includes(s) && s.label !== typed);
    pick.items = [...extra, ...kept, ...base];
    pick.selectedItems = selected.filter((s) => pick.items.includes(s));
  });
  return new Promise((resolve) => {
    let accepted = false;
    pick.onDidAccept(() => {
      accepted = true;
      resolve(pick.selectedItems.map((i) => i.label));
      pick.hide();
    });
    pick.onDidHide(() => {
      if (!accepted) {
        resolve(undefined);
      }
      pick.dispose();
    });
    pick.show();
  });
}

export async function createPrompt(server: ServerManager): Promise<void> {
  const title = await vscode.window.showInputBox({
    title: 'PromptStack: Create Prompt',
    prompt: 'Title',
    validateInput: (v) => (v.trim() ? undefined : 'A title is required'),
  });
  if (!title) {
    return;
  }
  const description = await vscode.window.showInputBox({ title: 'PromptStack: Create Prompt', prompt: 'Description (optional)' });
  if (description === undefined) {
    return;
  }
  const dir = libraryDir();
  const tags = await pickTags(libraryTags(dir));
  if (tags === undefined) {
    return;
  }
  let folders: string[] = [];
  try {
    folders = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch {
    // No library yet: the standard categories are offered.
  }
  const categories = [...new Set([...STANDARD_CATEGORIES, ...folders])];
  const NEW = '$(add) New category…';
  const category = await vscode.window.showQuickPick([...categories, NEW], { title: 'PromptStack: Create Prompt — category' });
  if (!category) {
    return;
  }
  let finalCategory = category;
  if (category === NEW) {
    const typed = await vscode.window.showInputBox({
      title: 'New category',
      prompt: 'Folder name in the library',
      validateInput: (v) => (/^[A-Za-z0-9_-]+$/.test(v.trim()) ? undefined : 'Letters, digits, - and _ only'),
    });
    if (!typed) {
      return;
    }
    finalCategory = typed.trim();
  }
  const args: Record<string, unknown> = { title: title.trim(), category: finalCategory };
  if (description.trim()) {
    args.description = description.trim();
  }
  if (tags.length) {
    args.tags = tags;
  }
  const result = await call<UriResult>(server, 'promptstack.createPrompt', args);
  await openUri(result?.uri);
}

export async function reindexLibrary(server: ServerManager): Promise<void> {
  const result = await withProgress('PromptStack: reindexing the library…', () =>
    call<{ prompts?: number }>(server, 'promptstack.reindexLibrary'),
  );
  if (result) {
    void vscode.window.showInformationMessage(`PromptStack: library indexed (${result.prompts ?? 0} prompts).`);
  }
}

interface SyncResult {
  message?: string;
}

/** `promptstack.library.sync`: fetches the git prompt sources now and says what changed. */
export async function syncLibrary(server: ServerManager): Promise<void> {
  const result = await withProgress('PromptStack: syncing prompt sources…', () =>
    call<SyncResult>(server, 'promptstack.library.sync'),
  );
  if (result) {
    void vscode.window.showInformationMessage(`PromptStack: ${result.message ?? 'sources synced'}`);
  }
}

/** The shapes `promptstack.library.publish` writes, with the folder each tool reads by default. */
const PUBLISH_TARGETS = [
  { label: 'Agent Skills', to: 'skills', dir: '.github/skills' },
  { label: 'Claude Code commands', to: 'claude-commands', dir: '.claude/commands' },
  { label: 'VS Code prompt files', to: 'vscode-prompts', dir: '.github/prompts' },
  { label: 'Cursor rules', to: 'cursor-rules', dir: '.cursor/rules' },
];

interface PublishResult {
  message?: string;
  outOfDate?: boolean;
}

/** `promptstack.library.publish`: writes the library into a workspace folder in a tool's shape. */
export async function publishLibrary(server: ServerManager): Promise<void> {
  const target = await vscode.window.showQuickPick(
    PUBLISH_TARGETS.map((t) => ({ label: t.label, description: t.to, target: t })),
    { title: 'PromptStack: Publish Library', placeHolder: 'Which tool reads the folder?' },
  );
  if (!target) {
    return;
  }
  const dir = await vscode.window.showInputBox({
    title: `PromptStack: Publish as ${target.label}`,
    prompt: 'Folder inside the workspace; files a person wrote there are left alone',
    value: target.target.dir,
  });
  if (!dir?.trim()) {
    return;
  }
  const result = await withProgress('PromptStack: publishing the library…', () =>
    call<PublishResult>(server, 'promptstack.library.publish', { to: target.target.to, dir: dir.trim() }),
  );
  if (result) {
    void vscode.window.showInformationMessage(`PromptStack: ${result.message ?? 'published'}`);
  }
}

function activeMarkdown(): vscode.TextDocument | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc) {
    void vscode.window.showWarningMessage('PromptStack: open a composition first.');
  }
  return doc;
}

export async function reviewWithAi(server: ServerManager): Promise<void> {
  const doc = activeMarkdown();
  if (!doc) {
    return;
  }
  const result = await withProgress('PromptStack: reviewing with AI…', () =>
    call<{ suggestions?: number }>(server, 'promptstack.ai.review', { uri: doc.uri.toString() }),
  );
  if (result) {
    reportReview(result);
  }
}

/** Stores an API key in Secret Storage and restarts the server so it takes the key. */
export async function setApiKey(server: ServerManager, secrets: vscode.SecretStorage): Promise<void> {
  const key = await vscode.window.showQuickPick(
    SECRET_KEYS.map((k) => ({ label: k.label, detail: k.detail, key: k })),
    { title: 'PromptStack: Set API Key', placeHolder: 'Which provider is the key for?' },
  );
  if (!key) {
    return;
  }
  const value = await vscode.window.showInputBox({
    title: `PromptStack: ${key.label} API key`,
    prompt: 'Kept in the system keychain (VS Code Secret Storage), never in settings files',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Paste the key'),
  });
  if (!value) {
    return;
  }
  await secrets.store(key.key.storage, value.trim());
  await server.restart();
  void vscode.window.showInformationMessage(`PromptStack: ${key.label} API key stored; the server restarted with it.`);
}

/** Removes every stored API key and restarts the server without them. */
export async function clearApiKeys(server: ServerManager, secrets: vscode.SecretStorage): Promise<void> {
  for (const key of SECRET_KEYS) {
    await secrets.delete(key.storage);
  }
  await server.restart();
  void vscode.window.showInformationMessage('PromptStack: stored API keys removed.');
}

interface RenderResult {
  text: string;
  missing?: string[];
}

export async function renderComposition(server: ServerManager): Promise<void> {
  const doc = activeMarkdown();
  if (!doc) {
    return;
  }
  const uri = doc.uri.toString();
  const first = await call<RenderResult>(server, 'promptstack.render', { uri, values: {} });
  if (!first) {
    return;
  }
  let result = first;
  const missing = first.missing ?? [];
  if (missing.length) {
    const text = doc.getText();
    const values: Record<string, string | string[]> = {};
    for (const [i, name] of missing.entries()) {
      const isList = text.includes(`{{list:${name}}}`);
      const value = await vscode.window.showInputBox({
        title: `PromptStack: Render — ${name} (${i + 1}/${missing.length})`,
        prompt: isList ? `Items for the list "${name}", separated by ;` : `Text for "${name}"`,
        ignoreFocusOut: true,
      });
      if (value === undefined) {
        return;
      }
      values[name] = isList ? value.split(';').map((s) => s.trim()).filter(Boolean) : value;
    }
    const second = await call<RenderResult>(server, 'promptstack.render', { uri, values });
    if (!second) {
      return;
    }
    result = second;
  }
  await vscode.env.clipboard.writeText(result.text);
  const left = result.missing?.length ? ` (still unfilled: ${result.missing.join(', ')})` : '';
  void vscode.window.showInformationMessage(`PromptStack: rendered prompt copied to the clipboard (${result.text.length} characters)${left}.`);
}

export async function showAiStats(server: ServerManager): Promise<void> {
  const stats = await call<unknown>(server, 'promptstack.ai.stats');
  if (stats === undefined) {
    return;
  }
  const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(stats, null, 2) });
  await vscode.window.showTextDocument(doc, { preview: true });
}
