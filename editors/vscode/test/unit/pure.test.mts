// Unit tests of the extension's pure logic (Node's test runner; Node 24 strips the types).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { contributedProperties, nestSettings, serverSettingPaths, toServerPath } from '../../src/settings.ts';
import { resolveServer } from '../../src/serverPath.ts';
import { formatStats, textStats } from '../../src/stats.ts';
import { isAtLeast, parseVersion } from '../../src/version.ts';

test('settings: only values the user set are sent, nested, without client-only keys', () => {
  const nested = nestSettings([
    ['ai.provider', 'openai'],
    ['ai.model', ''],
    ['ai.timeout', 30],
    ['ai.specialists', ['clarity']],
    ['plugins.enabled', false],
    ['server.path', '/usr/bin/promptstack'],
    ['vscode.claimPromptFiles', true],
    ['storage.backend', undefined],
    ['paths.library_dir', '   '],
  ]);
  assert.deepEqual(nested, {
    ai: { provider: 'openai', timeout: 30, specialists: ['clarity'] },
    plugins: { enabled: false },
  });
});

test('settings: paths come from package.json, minus server.* and vscode.*', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8'));
  const paths = serverSettingPaths(contributedProperties(pkg.contributes.configuration));
  assert.ok(paths.includes('ai.provider'));
  assert.ok(paths.includes('ai.anthropicBaseUrl'));
  assert.ok(paths.includes('log.file'));
  assert.ok(!paths.some((p) => p.startsWith('server.') || p.startsWith('vscode.')));
});

test('settings: camelCase VS Code keys are the server\'s snake_case fields', () => {
  assert.equal(toServerPath('ai.anthropicBaseUrl'), 'ai.anthropic_base_url');
  assert.equal(toServerPath('ai.provider'), 'ai.provider');
  assert.equal(toServerPath('ai.contextBudgetPercent'), 'ai.context_budget_percent');
});

test('stats: counted like the server (chars are code points, trailing newline ends a line)', () => {
  assert.deepEqual(textStats(''), { characters: 0, lines: 0, tokens: 0 });
  assert.deepEqual(textStats('abc'), { characters: 3, lines: 1, tokens: 1 });
  assert.deepEqual(textStats('abcde\n'), { characters: 6, lines: 1, tokens: 2 });
  assert.deepEqual(textStats('a\n\nb'), { characters: 4, lines: 3, tokens: 1 });
  assert.deepEqual(textStats('héllo 😀'), { characters: 7, lines: 1, tokens: 2 });
  assert.equal(formatStats({ characters: 1234, lines: 5, tokens: 309 }), '1,234 chars · 5 lines · ~309 tokens');
});

test('version: parses the CLI output and compares', () => {
  assert.deepEqual(parseVersion('promptstack 0.1.0'), [0, 1, 0]);
  assert.equal(parseVersion('promptstack'), undefined);
  assert.ok(isAtLeast([0, 1, 0], '0.1.0'));
  assert.ok(isAtLeast([1, 0, 0], '0.9.9'));
  assert.ok(!isAtLeast([0, 0, 9], '0.1.0'));
  assert.ok(!isAtLeast([0, 1, 0], '0.2.0'));
});

test('server path: setting, then PROMPTSTACK_SERVER, then bundled, then PATH', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-ext-'));
  const exe = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '#!/bin/sh\n');
    fs.chmodSync(p, 0o755);
    return p;
  };
  const onPath = exe(path.join(dir, 'pathdir', 'promptstack'));
  const extension = path.join(dir, 'ext');
  const env = { PATH: path.dirname(onPath), HOME: dir };
  assert.deepEqual(resolveServer(undefined, env, extension), { path: onPath, origin: 'PATH' });
  const bundled = exe(path.join(extension, 'bin', 'promptstack'));
  assert.equal(resolveServer('', env, extension)?.origin, 'bundled with the extension');
  assert.equal(resolveServer(undefined, { ...env, PROMPTSTACK_SERVER: '/opt/ps' }, extension)?.path, '/opt/ps');
  assert.equal(resolveServer('~/bin/ps', { ...env, PROMPTSTACK_SERVER: '/opt/ps' }, extension)?.path, path.join(dir, 'bin/ps'));
  assert.equal(resolveServer(undefined, { PATH: '' }, path.join(dir, 'none')), undefined);
  fs.rmSync(bundled);
  fs.rmSync(dir, { recursive: true });
});
