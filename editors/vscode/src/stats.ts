// Size of a composition, counted the way the server's code lens counts it. Pure.

export interface TextStats {
  characters: number;
  lines: number;
  tokens: number;
}

/** Characters are Unicode scalar values; a trailing newline does not start a line; ~4 chars per token. */
export function textStats(text: string): TextStats {
  let characters = 0;
  for (const _ of text) {
    characters++;
  }
  let lines = 0;
  if (text.length > 0) {
    lines = text.split('\n').length;
    if (text.endsWith('\n')) {
      lines--;
    }
  }
  return { characters, lines, tokens: Math.ceil(characters / 4) };
}

export function formatStats(stats: TextStats): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return `${n(stats.characters)} chars · ${n(stats.lines)} lines · ~${n(stats.tokens)} tokens`;
}
