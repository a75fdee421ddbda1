// Where the `promptstack` binary comes from. Pure apart from file-system checks.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Candidate {
  path: string;
  /** Where the path came from, for messages: "setting", "PROMPTSTACK_SERVER", "bundled", "PATH". */
  origin: string;
}

export function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, envPath: string | undefined): string | undefined {
  const exe = process.platform === 'win32' ? `${name}.exe` : name;
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, exe))) {
      return path.join(dir, exe);
    }
  }
  return undefined;
}

/**
 * The binary to run, in order: the setting, `PROMPTSTACK_SERVER`, the binary bundled in the
 * extension, `PATH`. An explicit setting or variable is returned even when it does not exist,
 * so the error names what the user configured instead of silently falling back.
 */
export function resolveServer(
  setting: string | undefined,
  env: NodeJS.ProcessEnv,
  extensionDir: string,
): Candidate | undefined {
  const expand = (p: string) => (p.startsWith('~/') && env.HOME ? path.join(env.HOME, p.slice(2)) : p);
  if (setting && setting.trim()) {
    return { path: expand(setting.trim()), origin: 'setting promptstack.server.path' };
  }
  const fromEnv = env.PROMPTSTACK_SERVER;
  if (fromEnv && fromEnv.trim()) {
    return { path: expand(fromEnv.trim()), origin: 'environment variable PROMPTSTACK_SERVER' };
  }
  const bundled = path.join(extensionDir, 'bin', process.platform === 'win32' ? 'promptstack.exe' : 'promptstack');
  if (isExecutable(bundled)) {
    return { path: bundled, origin: 'bundled with the extension' };
  }
  const onPath = findOnPath('promptstack', env.PATH);
  if (onPath) {
    return { path: onPath, origin: 'PATH' };
  }
  return undefined;
}
