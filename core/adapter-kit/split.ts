/** Replies longer than a platform's message limit, as several messages cut where a reader would. */

/**
 * Splits text into pieces of at most `limit` characters, cutting after the last sentence end
 * (or line break) that fits; only a sentence longer than the limit is cut at a space, and only
 * a word longer than the limit is cut mid-word.
 */
export function splitMessage(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    const cut = lastBoundary(window, /[.!?…]["')\]]*\s|\n/g) ?? lastBoundary(window, /\s/g) ?? limit;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** Index just past the last match of `boundary` in `window` (the whitespace stays with the next piece). */
function lastBoundary(window: string, boundary: RegExp): number | undefined {
  let end: number | undefined;
  for (const match of window.matchAll(boundary)) {
    const at = match.index + match[0].length - (/\s$/.test(match[0]) ? 1 : 0);
    if (at > 0 && at <= window.length - 1) end = at;
  }
  return end;
}
