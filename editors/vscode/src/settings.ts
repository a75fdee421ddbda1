// Editor settings → the server's nested settings object. Pure: no `vscode` import, unit-tested.

/** Settings of the extension itself (`server.*`: the binary, `vscode.*`: editor behaviour), never sent to the server. */
export const CLIENT_ONLY_PREFIXES = ['server.', 'vscode.'];

function clientOnly(path: string): boolean {
  return CLIENT_ONLY_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * The server's name for a setting: VS Code keys are camelCase so the Settings UI shows human
 * titles ("Anthropic Base Url"); the server's fields are snake_case (`ai.anthropic_base_url`).
 */
export function toServerPath(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A value the user did not really set: VS Code shows text settings as empty boxes, and the
 * server refuses empty strings, so empty means "not set here".
 */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * Builds `{ ai: { provider: "openai" }, ... }` from dotted paths and explicitly set values.
 * Only values the user set are sent: a default sent from the editor would override the
 * environment and config.yaml, which rank below editor settings.
 */
export function nestSettings(entries: Array<[string, unknown]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of entries) {
    if (clientOnly(path) || isUnset(value)) {
      continue;
    }
    const keys = path.split('.');
    let node = root;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        node[key] = {};
      }
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return root;
}

/** Every `contributes.configuration` property (one object or a list of categories). */
export function contributedProperties(configuration: unknown): Record<string, unknown> {
  const categories = Array.isArray(configuration) ? configuration : [configuration];
  return Object.assign({}, ...categories.map((c) => (c as { properties?: Record<string, unknown> })?.properties ?? {}));
}

/** Dotted VS Code setting paths (below `promptstack.`) that are server settings. */
export function serverSettingPaths(properties: Record<string, unknown>, section = 'promptstack'): string[] {
  return Object.keys(properties)
    .filter((key) => key.startsWith(section + '.'))
    .map((key) => key.slice(section.length + 1))
    .filter((path) => !clientOnly(path));
}
