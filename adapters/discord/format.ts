/** Turning a Reply into Discord messages: citations as markdown links, 2,000-character pieces. */
import type { Reply } from '../../core/index.js';

/** Discord's limit on a message's content. */
export const DISCORD_MESSAGE_LIMIT = 2000;

/** The reply text with its citations as masked links (`<...>` keeps Discord from unfurling each). */
export function formatReply(reply: Reply): string {
  if (reply.citations.length === 0) return reply.text;
  const links = reply.citations.map((c) => `[${c.title.replace(/[[\]]/g, '')}](<${c.url}>)`);
  return `${reply.text}\n\nSources: ${links.join(', ')}`;
}

/**
 * Splits text into pieces of at most `limit` characters, cutting after the last sentence end
 * (or line break) that fits; only a sentence longer than the limit is cut at a space, and only
 * a word longer than the limit is cut mid-word.
 */
export function splitMessage(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
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
