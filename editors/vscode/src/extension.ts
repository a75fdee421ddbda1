// PromptStack for VS Code: starts `promptstack lsp` and adds palette commands and a status bar item.
import * as vscode from 'vscode';

import { documentSelector, isComposition, openSettings, SECTION, ServerManager } from './client.ts';
import * as commands from './commands.ts';
import { claimPromptFiles } from './promptFiles.ts';
import { plainKeys } from './secrets.ts';
import { formatStats, textStats } from './stats.ts';

let manager: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const server = new ServerManager(context);
  manager = server;
  context.subscriptions.push(server);

  const register = (id: string, run: (s: ServerManager) => Promise<void>) =>
    context.subscriptions.push(vscode.commands.registerCommand(`promptstack.ui.${id}`, () => run(server)));
  register('newComposition', commands.newComposition);
  register('searchHistory', commands.searchHistory);
  register('cleanupHistory', commands.cleanupHistory);
  register('rebuildHistory', commands.rebuildHistory);
  register('validateLibrary', commands.validateLibrary);
  register('createPrompt', commands.createPrompt);
  register('reindexLibrary', commands.reindexLibrary);
  register('syncLibrary', commands.syncLibrary);
  register('publishLibrary', commands.publishLibrary);
  register('reviewWithAi', commands.reviewWithAi);
  register('renderComposition', commands.renderComposition);
  register('showAiStats', commands.showAiStats);
  register('restartServer', (s) => s.restart());
  register('showOutput', async (s) => s.output.show());
  register('setApiKey', (s) => commands.setApiKey(s, context.secrets));
  register('clearApiKeys', (s) => commands.clearApiKeys(s, context.secrets));
  register('openServerSettings', () => openSettings('promptstack.server.path'));

  claimPromptFiles(context);
  warnAboutPlainKeys();

  const status = new CompositionStatus();
  context.subscriptions.push(status);

  // Start the server when a document it handles is open (activation also fires for plain Markdown).
  const wanted = (doc: vscode.TextDocument) => vscode.languages.match(documentSelector(), doc) > 0;
  const maybeStart = (doc: vscode.TextDocument) => {
    if (!server.running && wanted(doc)) {
      void server.ensure();
    }
  };
  context.subscriptions.push(vscode.workspace.onDidOpenTextDocument(maybeStart));
  vscode.workspace.textDocuments.forEach(maybeStart);
  if (!server.running) {
    const found = await vscode.workspace.findFiles('**/*.{prompt,composition}.md', '**/node_modules/**', 1);
    if (found.length) {
      void server.ensure();
    }
  }

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      const restartKeys = ['server.path', 'paths.libraryDir', 'paths.dataDir', 'compositions.globs'];
      if (restartKeys.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) {
        if (server.running) {
          await server.restart();
        } else if (vscode.workspace.textDocuments.some(wanted)) {
          // A fixed setting (say, the server path after a failed start) starts it now.
          void server.ensure();
        }
      }
      status.update();
    }),
  );
}

/** API keys in plain settings keep working, with a pointer to Secret Storage. */
function warnAboutPlainKeys(): void {
  const plain = plainKeys();
  if (plain.length === 0) {
    return;
  }
  void vscode.window
    .showWarningMessage(
      `PromptStack: the ${plain.map((k) => k.label).join(' and ')} API key is stored in plain text in settings.json. ` +
        'It works, but "PromptStack: Set API Key" keeps it in the system keychain instead (then remove it from settings).',
      'Set API Key',
    )
    .then((choice) => {
      if (choice) {
        void vscode.commands.executeCommand('promptstack.ui.setApiKey');
      }
    });
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
}

/** Characters, lines and estimated tokens of the active composition. */
class CompositionStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('promptstack.stats', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'PromptStack composition size';
    this.item.tooltip = 'PromptStack: characters, lines and estimated tokens of this composition';
    this.item.command = 'promptstack.ui.renderComposition';
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) {
          this.schedule();
        }
      }),
    );
    this.update();
  }

  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => this.update(), 100);
  }

  update(): void {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || !isComposition(doc)) {
      this.item.hide();
      return;
    }
    this.item.text = `$(note) ${formatStats(textStats(doc.getText()))}`;
    this.item.show();
  }

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.item.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
