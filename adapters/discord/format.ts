/** Turning a Reply into Discord messages: citations as markdown links, 2,000-character pieces. */
import { splitMessage, type Reply } from '../../core/index.js';

/** Discord's limit on a message's content. */
export const DISCORD_MESSAGE_LIMIT = 2000;

/** The reply text with its citations as masked links (`<...>` keeps Discord from unfurling each). */
export function formatReply(reply: Reply): string {
  if (reply.citations.length === 0) return reply.text;
  const links = reply.citations.map((c) => `[${c.title.replace(/[[\]]/g, '')}](<${c.url}>)`);
  return `${reply.text}\n\nSources: ${links.join(', ')}`;
}

/** The reply as Discord messages: formatted, then split within the message limit. */
export function replyPieces(reply: Reply): string[] {
  return splitMessage(formatReply(reply), DISCORD_MESSAGE_LIMIT);
}
