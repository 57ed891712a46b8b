/** Splits a finalized reply into word chunks, so the page can render it as it arrives. */

/** At most this many chunks per reply: long replies stream in bigger pieces, not for longer. */
export const MAX_CHUNKS = 40;

/** Chunks that concatenate back to `text` exactly (whitespace kept with the word before it). */
export function chunkReply(text: string, maxChunks = MAX_CHUNKS): string[] {
  const words = text.match(/^\s+|\S+\s*/g) ?? [];
  if (words.length === 0) return text === '' ? [] : [text];
  const perChunk = Math.ceil(words.length / maxChunks);
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += perChunk) chunks.push(words.slice(i, i + perChunk).join(''));
  return chunks;
}
