/** Turning a Reply into Slack mrkdwn: the text escaped, citations as `<url|title>` links. */
import type { Reply } from '../../core/index.js';

/** Slack reads `&`, `<` and `>` as control characters in message text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function formatReply(reply: Reply): string {
  const text = escapeMrkdwn(reply.text);
  if (reply.citations.length === 0) return text;
  // A `|` would end the link's url part early; `>` is escaped above for the title.
  const links = reply.citations.map((c) => `<${c.url.replace(/[|>]/g, encodeURIComponent)}|${escapeMrkdwn(c.title).replace(/\|/g, '/')}>`);
  return `${text}\n\nSources: ${links.join(', ')}`;
}

/** The user's text without mentions of the bot (`<@U123>` or `<@U123|name>`), Slack's escapes undone. */
export function incomingText(text: string, botUserId: string | undefined): string {
  const withoutMention = botUserId ? text.replace(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), ' ') : text;
  return withoutMention.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
