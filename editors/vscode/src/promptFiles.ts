// Compositions and VS Code's own prompt files (`*.prompt.md`, language "prompt", checked by its
// chat features). New compositions are `*.composition.md` (language "promptstack") and never meet
// them. An older `*.prompt.md` composition (it matches the composition globs and is outside
// `.github/prompts/`) is opened as a PromptStack composition so VS Code's prompt-file checks do
// not run on it, and the user is offered a rename once.
import * as path from 'node:path';
import * as vscode from 'vscode';

import { COMPOSITION_LANGUAGE, isComposition } from './client.ts';

const VSCODE_PROMPT_LANGUAGE = 'prompt';
const HINT_DISMISSED = 'promptstack.promptFileHintDismissed';

/** Claims the `*.prompt.md` compositions that are open now and that open later. */
export function claimPromptFiles(context: vscode.ExtensionContext): void {
  let hinted = false;
  const claim = async (doc: vscode.TextDocument) => {
    const enabled = vscode.workspace.getConfiguration('promptstack').get<boolean>('vscode.claimPromptFiles', true);
    if (!enabled || doc.languageId !== VSCODE_PROMPT_LANGUAGE || doc.uri.scheme !== 'file' || !isComposition(doc)) {
      return;
    }
    await vscode.languages.setTextDocumentLanguage(doc, COMPOSITION_LANGUAGE);
    if (!hinted && !context.globalState.get<boolean>(HINT_DISMISSED)) {
      hinted = true;
      void offerRename(context, doc.uri);
    }
  };
  context.subscriptions.push(vscode.workspace.onDidOpenTextDocument((doc) => void claim(doc)));
  vscode.workspace.textDocuments.forEach((doc) => void claim(doc));
}

async function offerRename(context: vscode.ExtensionContext, uri: vscode.Uri): Promise<void> {
  const name = path.basename(uri.fsPath);
  const renamed = name.replace(/\.prompt\.md$/, '.composition.md');
  const choice = await vscode.window.showInformationMessage(
    `PromptStack: ${name} is opened as a composition. VS Code reads *.prompt.md as its own prompt files; ` +
      `rename it to ${renamed} to keep the two apart?`,
    'Rename',
    'Not Now',
    "Don't Ask Again",
  );
  if (choice === 'Rename') {
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(uri, vscode.Uri.file(path.join(path.dirname(uri.fsPath), renamed)));
    await vscode.workspace.applyEdit(edit);
  } else if (choice === "Don't Ask Again") {
    await context.globalState.update(HINT_DISMISSED, true);
  }
}
