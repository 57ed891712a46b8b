/** The history key of a conversation: `platform:channel[:thread]`. */
import type { ConversationAddress } from '../types.js';

/**
 * Percent-escapes `%` and `:` in each part, so that a channel id holding a `:` can never read as
 * a channel plus a thread (`a:b` + no thread vs `a` + thread `b`). Plain ids stay readable, which
 * keeps route prefixes like `discord:123` working.
 */
export function conversationKey(address: ConversationAddress): string {
  const parts = [address.platform, address.channel];
  if (address.thread !== undefined) parts.push(address.thread);
  return parts.map(escapePart).join(':');
}

function escapePart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}
