// The server version check. Pure.

/** The oldest server this extension works with. */
export const MIN_SERVER_VERSION = '0.1.0';

/** `promptstack 0.1.0` (or `0.1.0-dev`) → [0, 1, 0]; undefined when there is no version. */
export function parseVersion(output: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!m) {
    return undefined;
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function isAtLeast(found: [number, number, number], minimum: string): boolean {
  const min = parseVersion(minimum);
  if (!min) {
    return true;
  }
  for (let i = 0; i < 3; i++) {
    if (found[i] !== min[i]) {
      return found[i] > min[i];
    }
  }
  return true;
}
