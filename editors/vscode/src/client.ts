// Starting, checking and restarting the language server.
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ClientCapabilities,
  DocumentFilter,
  ExecuteCommandRequest,
  FeatureState,
  StaticFeature,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

import { secretEnvironment } from './secrets.ts';
import { resolveServer } from './serverPath.ts';
import { contributedProperties, nestSettings, serverSettingPaths, toServerPath } from './settings.ts';
import { isAtLeast, MIN_SERVER_VERSION, parseVersion } from './version.ts';
import { reportCommandError, reportReview } from './feedback.ts';

export const SECTION = 'promptstack';
/** The server's default `compositions.globs` (a glob starting with `!` excludes). */
const DEFAULT_GLOBS = ['**/*.prompt.md', '**/*.composition.md', '!**/.github/prompts/**'];
/** The language of compositions (`*.composition.md`, and claimed `*.prompt.md` files). */
export const COMPOSITION_LANGUAGE = 'promptstack';

/**
 * Settings a workspace may not choose in Restricted Mode (`capabilities.untrustedWorkspaces` in
 * package.json): programs, files and servers. Old snake_case spellings are covered too.
 */
function restricted(key: string): boolean {
  const restrictedKeys: string[] =
    vscode.extensions.getExtension('promptstack.promptstack')?.packageJSON?.capabilities?.untrustedWorkspaces
      ?.restrictedConfigurations ?? [];
  return restrictedKeys.some((k) => k === `${SECTION}.${key}` || toServerPath(k) === `${SECTION}.${key}`);
}

/** A setting's value where the user set it (folder, workspace, user), or undefined; in an
 * untrusted workspace the workspace's own value of a restricted setting does not count. */
function userValue<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const info = config.inspect<T>(key);
  if (!vscode.workspace.isTrusted && restricted(key)) {
    return info?.globalValue;
  }
  return info?.workspaceFolderValue ?? info?.workspaceValue ?? info?.globalValue;
}

/** The server's settings as the user set them (not defaults), in the nested shape the server reads. */
export function collectSettings(context: vscode.ExtensionContext, scope?: vscode.Uri): Record<string, unknown> {
  const properties = contributedProperties(context.extension.packageJSON?.contributes?.configuration);
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  const entries: Array<[string, unknown]> = [];
  for (const p of serverSettingPaths(properties)) {
    const serverPath = toServerPath(p);
    // Settings written before the keys became camelCase (`ai.openai_base_url`) still count.
    const value = userValue(config, p) ?? (serverPath !== p ? userValue(config, serverPath) : undefined);
    entries.push([serverPath, value]);
  }
  return nestSettings(entries);
}

function setting<T>(key: string): T | undefined {
  const v = userValue<T>(vscode.workspace.getConfiguration(SECTION), key);
  return typeof v === 'string' && v.trim() === '' ? undefined : v;
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** The data directory as the server will see it (settings and environment; config.yaml is not read here). */
export function dataDir(): string {
  const configured = setting<string>('paths.dataDir') ?? process.env.PROMPTSTACK_DATA_DIR;
  if (configured) {
    return expandHome(configured);
  }
  const home = process.env.PROMPTSTACK_HOME ? expandHome(process.env.PROMPTSTACK_HOME) : path.join(os.homedir(), '.promptstack');
  return path.join(home, 'data');
}

export function libraryDir(): string {
  const configured = setting<string>('paths.libraryDir') ?? process.env.PROMPTSTACK_LIBRARY_DIR;
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

/** Compositions (by glob; the server applies the `!` exclusions) and saved history entries. */
export function compositionSelector(): DocumentFilter[] {
  return [
    ...compositionGlobs()
      .filter((g) => !g.startsWith('!'))
      .map((pattern) => ({ scheme: 'file', pattern })),
    { scheme: 'file', pattern: `${slashes(dataDir())}/.history/*.md` },
  ];
}

/** Whether `doc` is a composition: it matches a glob and no `!` glob. */
export function isComposition(doc: vscode.TextDocument): boolean {
  const globs = compositionGlobs();
  const matches = (pattern: string) => vscode.languages.match({ scheme: 'file', pattern }, doc) > 0;
  return (
    globs.some((g) => !g.startsWith('!') && matches(g)) && !globs.some((g) => g.startsWith('!') && matches(g.slice(1)))
  );
}

/** Tells the server that this extension shows command results and errors itself. */
class CommandResultsFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object), promptstack: { commandResults: true } };
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

/** Opens the Settings editor on `query`, in the Remote tab when the window is remote (where
 * machine settings such as `promptstack.server.path` live; the User tab would show nothing). */
export async function openSettings(query: string): Promise<void> {
  const command = vscode.env.remoteName ? 'workbench.action.openRemoteSettings' : 'workbench.action.openSettings';
  await vscode.commands.executeCommand(command, { query });
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
  /** Why the last start failed, for commands that need the server. */
  private failure: string | undefined;
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

  /**
   * `workspace/executeCommand`; errors (including "unknown command") are shown and thrown. When
   * the server cannot start this fails at once with the start error (already on screen).
   */
  async execute<T>(command: string, args?: unknown, opts: { quiet?: boolean } = {}): Promise<T | undefined> {
    const client = await this.ensure();
    if (!client) {
      throw new Error(this.failure ?? 'PromptStack: the server is not running');
    }
    try {
      const result = await client.sendRequest(ExecuteCommandRequest.type, {
        command,
        arguments: args === undefined ? [] : [args],
      });
      return (result ?? undefined) as T | undefined;
    } catch (e) {
      this.output.appendLine(`${command} failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!opts.quiet) {
        reportCommandError(command, e);
      }
      throw e;
    }
  }

  /** Shows why the server cannot start; does not wait for the user, so commands fail fast. */
  private failed(message: string): undefined {
    this.failure = message;
    this.output.appendLine(message);
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Retry').then((choice) => {
      if (choice === 'Open Settings') {
        void openSettings('promptstack.server.path');
      } else if (choice === 'Retry') {
        void this.ensure();
      }
    });
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

    // API keys from Secret Storage reach the server as environment variables: never in a
    // settings file, never in a protocol message.
    const serverOptions: ServerOptions = {
      command: candidate.path,
      args: ['lsp'],
      transport: TransportKind.stdio,
      options: { env: { ...process.env, ...(await secretEnvironment(this.context.secrets)) } },
    };
    const context = this.context;
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      initializationOptions: collectSettings(context),
      outputChannel: this.output,
      // The extension reports failures itself (feedback.ts); no generic "Request failed" toasts.
      revealOutputChannelOn: RevealOutputChannelOn.Never,
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
        // Commands VS Code runs for the server (code actions such as Review with AI): their
        // answers would be dropped, so say what happened.
        executeCommand: async (command, args, next) => {
          try {
            const result = await next(command, args);
            if (command === 'promptstack.ai.review') {
              reportReview(result);
            }
            return result;
          } catch (e) {
            reportCommandError(command, e);
            throw e;
          }
        },
      },
    };
    const client = new LanguageClient('promptstack', 'PromptStack', serverOptions, clientOptions);
    client.registerFeature(new CommandResultsFeature());
    try {
      await client.start();
    } catch (e) {
      return this.failed(`PromptStack: the server failed to start: ${e instanceof Error ? e.message : e}`);
    }
    this.client = client;
    this.failure = undefined;
    return client;
  }

  dispose(): void {
    void this.stop();
    this.output.dispose();
  }
}
