/**
 * The Slack message a reply goes into, while it is written and when it is done. `edit` mode
 * replaces the "thinking" placeholder as the reply grows (chat.update); `native` mode, in a
 * thread, hands the text to Slack's own streaming (chat.startStream / appendStream / stopStream,
 * for apps with Slack's AI features on) and removes the placeholder once the stream has started.
 * Either way writes are throttled by core's ThrottledWriter, and the finished reply replaces what
 * was streamed.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from '../../core/index.js';
import { ThrottledWriter, type StreamTarget } from '../../core/index.js';
import type { Reply } from '../../core/index.js';
import { feedbackBlock, replyBlocks } from './feedback.js';
import { escapeMrkdwn, formatReply } from './format.js';

type WebClient = webApi.WebClient;

export interface ReplyPlace {
  client: WebClient;
  channel: string;
  thread?: string;
  /** The "thinking" message posted at once; streamed text (edit mode) and the reply replace it. */
  placeholder: Promise<{ ts?: string }>;
  /** Who asked and their workspace: Slack's streams outside DMs are addressed to them. */
  recipient: { user: string; team?: string };
}

export interface ReplyMessageOptions {
  mode: 'edit' | 'native' | 'off';
  intervalMs: number;
  feedback: boolean;
  logger: Logger;
}

/** A reply still being written: its text so far and a mark that more is coming. */
function preview(text: string): string {
  return `${escapeMrkdwn(text)} …`;
}

export class SlackReplyMessage {
  /** The ReplyStream to give the bot; undefined when streaming is off. */
  readonly stream?: ThrottledWriter<string>;
  private readonly native: boolean;
  /** What Slack's stream holds so far (native mode). */
  private streamedText = '';

  constructor(
    private readonly place: ReplyPlace,
    private readonly options: ReplyMessageOptions,
  ) {
    // Slack streams only into threads; a top-level DM reply is edited in place instead.
    this.native = options.mode === 'native' && place.thread !== undefined;
    if (options.mode === 'off') return;
    const target = this.native ? this.nativeTarget() : this.editTarget();
    this.stream = new ThrottledWriter(target, options.intervalMs, (error) => options.logger.warn({ err: error }, 'could not show the reply as it was written; it is sent whole'));
  }

  /** Puts the finished reply in place of what was streamed (or of the placeholder). */
  async finish(reply: Reply): Promise<void> {
    const { client, channel } = this.place;
    const text = formatReply(reply);
    const rate = this.options.feedback && reply.rateable && reply.turnId ? reply.turnId : undefined;
    const streamed = await this.stream?.close();
    if (streamed !== undefined && this.native) {
      // Slack's stream ends with the rest of the reply and the buttons; a reply that is not its continuation (a fallback) replaces it.
      if (reply.citations.length === 0 && reply.text.startsWith(this.streamedText)) {
        const rest = reply.text.slice(this.streamedText.length);
        await client.chat.stopStream({ channel, ts: streamed, ...(rest ? { markdown_text: rest } : {}), ...(rate ? { blocks: [feedbackBlock(rate)] } : {}) });
        return;
      }
      await client.chat.stopStream({ channel, ts: streamed });
      this.stream!.wrote();
    }
    const ts = streamed ?? (await this.place.placeholder).ts!;
    await client.chat.update({ channel, ts, text, ...(rate ? { blocks: replyBlocks(text, rate) } : {}) });
  }

  private editTarget(): StreamTarget<string> {
    const { client, channel, placeholder } = this.place;
    return {
      post: async (text) => {
        const { ts } = await placeholder;
        await client.chat.update({ channel, ts: ts!, text: preview(text) });
        return ts!;
      },
      edit: async (ts, text) => void (await client.chat.update({ channel, ts, text: preview(text) })),
    };
  }

  private nativeTarget(): StreamTarget<string> {
    const { client, channel, thread, placeholder, recipient } = this.place;
    return {
      post: async (text) => {
        const started = await client.chat.startStream({
          channel,
          thread_ts: thread!,
          markdown_text: text,
          recipient_user_id: recipient.user,
          ...(recipient.team ? { recipient_team_id: recipient.team } : {}),
        });
        this.streamedText = text;
        // The stream is the reply now: the placeholder would only repeat "thinking".
        const { ts } = await placeholder;
        await client.chat.delete({ channel, ts: ts! }).catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not remove the placeholder'));
        return started.ts!;
      },
      edit: async (ts, text) => {
        await client.chat.appendStream({ channel, ts, markdown_text: text.slice(this.streamedText.length) });
        this.streamedText = text;
      },
    };
  }
}
