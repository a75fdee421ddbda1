// What the user is told when a server command ends: results and errors, with the way out.
import * as vscode from 'vscode';

/** The review's outcome: how many suggestions and where they are. */
export function reportReview(result: unknown): void {
  const n = (result as { suggestions?: number } | undefined)?.suggestions ?? 0;
  void vscode.window.showInformationMessage(
    n
      ? `PromptStack: ${n} suggestion${n === 1 ? '' : 's'}; see the Problems panel and the light bulb.`
      : 'PromptStack: no suggestions.',
  );
}

/** A failed command, said once; "AI is not configured" says how to configure it from VS Code. */
export function reportCommandError(command: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (/AI is not configured/.test(message)) {
    void vscode.window
      .showErrorMessage(
        'PromptStack: AI is not configured. Store an API key with "PromptStack: Set API Key", or choose ' +
          'the provider and a local server (Ollama, llama.cpp) in Settings › PromptStack › AI.',
        'Set API Key',
        'Open AI Settings',
      )
      .then((choice) => {
        if (choice === 'Set API Key') {
          void vscode.commands.executeCommand('promptstack.ui.setApiKey');
        } else if (choice === 'Open AI Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'promptstack.ai');
        }
      });
    return;
  }
  void vscode.window.showErrorMessage(`PromptStack: ${command} failed: ${message}`);
}
