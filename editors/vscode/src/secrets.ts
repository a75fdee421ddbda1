// API keys in VS Code's Secret Storage (the system keychain), handed to the server as
// environment variables when it starts. Never written to settings, never logged.
import * as vscode from 'vscode';

/** One provider's key: where it is stored and the server variable it becomes. */
export interface SecretKey {
  id: 'claude' | 'openai';
  label: string;
  detail: string;
  /** Secret Storage key. */
  storage: string;
  /** Environment variable the server reads (below editor settings in precedence). */
  env: string;
  /** The plain setting that would win over it (camelCase key below `promptstack.`). */
  setting: string;
}

export const SECRET_KEYS: SecretKey[] = [
  {
    id: 'claude',
    label: 'Anthropic (Claude)',
    detail: 'for ai.provider "claude"',
    storage: 'promptstack.ai.claudeApiKey',
    env: 'PROMPTSTACK_CLAUDE_API_KEY',
    setting: 'ai.claudeApiKey',
  },
  {
    id: 'openai',
    label: 'OpenAI or a compatible server',
    detail: 'for ai.provider "openai" (optional for local servers such as Ollama)',
    storage: 'promptstack.ai.openaiApiKey',
    env: 'PROMPTSTACK_OPENAI_API_KEY',
    setting: 'ai.openaiApiKey',
  },
];

/** The stored keys as the server's environment variables. */
export async function secretEnvironment(secrets: vscode.SecretStorage): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const key of SECRET_KEYS) {
    const value = await secrets.get(key.storage);
    if (value) {
      env[key.env] = value;
    }
  }
  return env;
}

/** Plain-text keys in settings files (they still work, and win over stored ones). */
export function plainKeys(): SecretKey[] {
  const config = vscode.workspace.getConfiguration('promptstack');
  return SECRET_KEYS.filter((key) => {
    for (const name of [key.setting, key.setting.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]) {
      const info = config.inspect<string>(name);
      const value = info?.workspaceFolderValue ?? info?.workspaceValue ?? info?.globalValue;
      if (typeof value === 'string' && value.trim()) {
        return true;
      }
    }
    return false;
  });
}
