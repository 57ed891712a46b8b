/** The JSON frames exchanged between the page and the server over the WebSocket. */
import type { Citation, HistoryTurn, Rating, ReplyKind, Stage } from '../../core/index.js';
import type { TurnTrace } from './trace.js';

/** Conversation ids are chosen by the page; kept short and plain because they become history keys. */
export const CONVERSATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export type ClientFrame =
  | { type: 'join'; conversation: string }
  | { type: 'leave'; conversation: string }
  | { type: 'say'; conversation: string; text: string }
  | { type: 'preset'; conversation: string; name: string }
  | { type: 'reset'; conversation: string }
  /** 👍/👎 on a reply (by the `turnId` of its reply-end), optionally with why. */
  | { type: 'feedback'; conversation: string; turnId: string; rating: Rating; reason?: string };

/** Longest reason the page may send; the bot keeps at most `feedback.maxReasonLength` of it. */
export const MAX_REASON_LENGTH = 2000;

export interface PresetSummary {
  name: string;
  description?: string;
}

export type ServerFrame =
  | { type: 'welcome'; bot: string; presets: PresetSummary[]; maxFrameBytes: number }
  /** The conversation as stored; `greeting` is its preset's, which pre-conditions every prompt but is not history. */
  | { type: 'conversation'; conversation: string; preset: string; greeting: Pick<HistoryTurn, 'role' | 'text'>[]; history: Pick<HistoryTurn, 'role' | 'text'>[] }
  | { type: 'user'; conversation: string; text: string }
  /** A message the bot accepted waits for its turn (behind others of the conversation); stages follow. */
  | { type: 'waiting'; conversation: string }
  | { type: 'stage'; conversation: string; turnId: string; stage: Stage }
  /** A one-candidate reply begins to stream: complete sentences follow as chunks, each checked by the plugins first. */
  | { type: 'reply-start'; conversation: string; streamId: string }
  /** The text that follows what was streamed so far. */
  | { type: 'reply-chunk'; conversation: string; streamId: string; text: string }
  /**
   * The finished reply (streamed or not); its text replaces what was streamed. `turnId` links it to
   * its trace (absent for replies made outside a turn); `rateable`: a feedback frame may rate it.
   */
  | { type: 'reply-end'; conversation: string; streamId: string; kind: ReplyKind; text: string; citations: Citation[]; turnId?: string; rateable?: boolean }
  /** What became of a feedback frame: sent to every socket of the conversation when it was recorded, else to the sender. */
  | { type: 'feedback'; conversation: string; turnId: string; rating: Rating; ok: boolean; message: string }
  | { type: 'trace'; conversation: string; trace: TurnTrace }
  | { type: 'error'; conversation?: string; message: string };

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: string };

/** Parses and validates one text frame; every failure says what a well-formed frame looks like. */
export function parseClientFrame(raw: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: `Malformed JSON frame (${(error as Error).message}).` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'A frame must be a JSON object with a "type".' };
  }
  const frame = value as Record<string, unknown>;
  const type = frame.type;
  if (type !== 'join' && type !== 'leave' && type !== 'say' && type !== 'preset' && type !== 'reset' && type !== 'feedback') {
    return { ok: false, error: `Unknown frame type ${JSON.stringify(type)}; expected join, leave, say, preset, reset or feedback.` };
  }
  const conversation = frame.conversation;
  if (typeof conversation !== 'string' || !CONVERSATION_ID.test(conversation)) {
    return { ok: false, error: '"conversation" must be 1 to 64 letters, digits, "-" or "_".' };
  }
  switch (type) {
    case 'say': {
      if (typeof frame.text !== 'string' || frame.text.trim() === '') {
        return { ok: false, error: '"say" needs a non-empty "text".' };
      }
      return { ok: true, frame: { type, conversation, text: frame.text } };
    }
    case 'preset': {
      if (typeof frame.name !== 'string' || !/^[\w.-]{1,64}$/.test(frame.name)) {
        return { ok: false, error: '"preset" needs a preset "name".' };
      }
      return { ok: true, frame: { type, conversation, name: frame.name } };
    }
    case 'feedback': {
      if (typeof frame.turnId !== 'string' || !/^[\w-]{1,64}$/.test(frame.turnId)) return { ok: false, error: '"feedback" needs the "turnId" of a reply.' };
      if (frame.rating !== 'up' && frame.rating !== 'down') return { ok: false, error: '"feedback" needs a "rating" of "up" or "down".' };
      if (frame.reason !== undefined && (typeof frame.reason !== 'string' || frame.reason.length > MAX_REASON_LENGTH)) {
        return { ok: false, error: `"reason" must be text of at most ${MAX_REASON_LENGTH} characters.` };
      }
      return { ok: true, frame: { type, conversation, turnId: frame.turnId, rating: frame.rating, ...(frame.reason ? { reason: frame.reason } : {}) } };
    }
    default:
      return { ok: true, frame: { type, conversation } };
  }
}

/** JSON for the wire: non-finite numbers (a -Infinity log-prob) survive as strings instead of turning into null. */
export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  );
}
