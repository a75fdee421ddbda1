// Starting, checking and restarting the language server.
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DocumentFilter,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

import { resolveServer } from './serverPath.ts';
import { nestSettings, serverSettingPaths } from './settings.ts';
import { isAtLeast, MIN_SERVER_VERSION, parseVersion } from './version.ts';

export const SECTION = 'promptstack';
const DEFAULT_GLOBS = ['**/*.prompt.md'];

/** The server's settings as the user set them (not defaults), in the nested shape the server reads. */
export function collectSettings(context: vscode.ExtensionContext, scope?: vscode.Uri): Record<string, unknown> {
  const properties = context.extension.packageJSON?.contributes?.configuration?.properties ?? {};
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  const entries: Array<[string, unknown]> = [];
  for (const p of serverSettingPaths(properties)) {
    const info = config.inspect(p);
    const value = info?.workspaceFolderValue ?? info?.workspaceValue ?? info?.globalValue;
    entries.push([p, value]);
  }
  return nestSettings(entries);
}

function setting<T>(key: string): T | undefined {
  const info = vscode.workspace.getConfiguration(SECTION).inspect<T>(key);
  const v = info?.workspaceFolderValue ?? info?.workspaceValue ?? info?.globalValue;
  return typeof v === 'string' && v.trim() === '' ? undefined : v;
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** The data directory as the server will see it (settings and environment; config.yaml is not read here). */
export function dataDir(): string {
  const configured = setting<string>('paths.data_dir') ?? process.env.PROMPTSTACK_DATA_DIR;
  if (configured) {
    return expandHome(configured);
  }
  const home = process.env.PROMPTSTACK_HOME ? expandHome(process.env.PROMPTSTACK_HOME) : path.join(os.homedir(), '.promptstack');
  return path.join(home, 'data');
}

export function libraryDir(): string {
  const configured = setting<string>('paths.library_dir') ?? process.env.PROMPTSTACK_LIBRARY_DIR;
  return configured ? expandHome(configured) : path.join(dataDir(), 'library');
}

export function compositionGlobs(): string[] {
  const globs = setting<string[]>('compositions.globs');
  if (Array.isArray(globs) && globs.length > 0) {
    return globs;
  }
  const fromEnv = process.env.PROMPTSTACK_COMPOSITION_GLOBS;
  if (fromEnv) {
    return fromEnv.split(',').map((g) => g.trim()).filter(Boolean);
  }
  return DEFAULT_GLOBS;
}

function slashes(p: string): string {
  return p.replace(/\\/g, '/').replace(/\/$/, '');
}

/** Compositions (by glob) and saved history entries. */
export function compositionSelector(): DocumentFilter[] {
  return [
    ...compositionGlobs().map((pattern) => ({ scheme: 'file', pattern })),
    { scheme: 'file', pattern: `${slashes(dataDir())}/.history/*.md` },
  ];
}

/** Everything the server should see: compositions and Markdown files in the library. */
export function documentSelector(): DocumentFilter[] {
  return [
    ...compositionSelector(),
    { scheme: 'file', language: 'markdown', pattern: `${slashes(libraryDir())}/**/*.md` },
  ];
}

function runVersion(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: 15000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(stderr.trim() || error.message));
      } else {
        resolve(stdout.trim());
      }
    });
  });
}

/** Owns the one LanguageClient; starts it lazily and restarts it on demand. */
export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  readonly output: vscode.OutputChannel;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('PromptStack');
  }

  get running(): LanguageClient | undefined {
    return this.client;
  }

  /** The running client, starting it first when needed; undefined when it cannot start. */
  ensure(): Promise<LanguageClient | undefined> {
    if (this.client) {
      return Promise.resolve(this.client);
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    const client = await this.ensure();
    if (client) {
      vscode.window.setStatusBarMessage('PromptStack server restarted', 3000);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (e) {
        this.output.appendLine(`stopping the server: ${e}`);
      }
    }
  }

  /** `workspace/executeCommand`; errors (including "unknown command") are shown and give undefined. */
  async execute<T>(command: string, args?: unknown, opts: { quiet?: boolean } = {}): Promise<T | undefined> {
    const client = await this.ensure();
    if (!client) {
      return undefined;
    }
    try {
      const result = await client.sendRequest(ExecuteCommandRequest.type, {
        command,
        arguments: args === undefined ? [] : [args],
      });
      return (result ?? undefined) as T | undefined;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.output.appendLine(`${command} failed: ${message}`);
      if (!opts.quiet) {
        void vscode.window.showErrorMessage(`PromptStack: ${command} failed: ${message}`);
      }
      throw e;
    }
  }

  private async failed(message: string): Promise<undefined> {
    this.output.appendLine(message);
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Retry');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'promptstack.server.path');
    } else if (choice === 'Retry') {
      void this.ensure();
    }
    return undefined;
  }

  private async start(): Promise<LanguageClient | undefined> {
    const setting = vscode.workspace.getConfiguration(SECTION).get<string>('server.path');
    const candidate = resolveServer(setting, process.env, this.context.extensionPath);
    if (!candidate) {
      return this.failed(
        'PromptStack: the `promptstack` binary was not found. Set `promptstack.server.path`, set ' +
          'PROMPTSTACK_SERVER, or install it on PATH (`cargo install --path .` in the PromptStack repository).',
      );
    }
    let versionText: string;
    try {
      versionText = await runVersion(candidate.path);
    } catch (e) {
      return this.failed(
        `PromptStack: cannot run ${candidate.path} (from ${candidate.origin}): ${e instanceof Error ? e.message : e}`,
      );
    }
    const version = parseVersion(versionText);
    if (!version || !isAtLeast(version, MIN_SERVER_VERSION)) {
      return this.failed(
        `PromptStack: ${candidate.path} (from ${candidate.origin}) reports "${versionText}"; ` +
          `this extension needs promptstack ${MIN_SERVER_VERSION} or newer. Update it or point promptstack.server.path at a newer binary.`,
      );
    }
    this.output.appendLine(`Starting ${candidate.path} lsp (${versionText}, from ${candidate.origin})`);

    const serverOptions: ServerOptions = {
      command: candidate.path,
      args: ['lsp'],
      transport: TransportKind.stdio,
    };
    const context = this.context;
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      initializationOptions: collectSettings(context),
      outputChannel: this.output,
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          // Answer `workspace/configuration` for our section with what the user set, not defaults.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, i) =>
              item.section === SECTION
                ? collectSettings(context, item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : answers[i],
            );
          },
          // Push nothing; the server pulls through `workspace/configuration` above, so both
          // paths deliver the same shape.
          didChangeConfiguration: async (_sections, next) => next(undefined),
        },
      },
    };
    const client = new LanguageClient('promptstack', 'PromptStack', serverOptions, clientOptions);
    try {
      await client.start();
    } catch (e) {
      return this.failed(`PromptStack: the server failed to start: ${e instanceof Error ? e.message : e}`);
    }
    this.client = client;
    return client;
  }

  dispose(): void {
    void this.stop();
    this.output.dispose();
  }
}
