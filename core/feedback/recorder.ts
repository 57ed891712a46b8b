/**
 * Feedback in the bot: rateable turns' traces go to the feedback store before their reply is
 * delivered (so a click that follows at once finds them), and `rate` turns a person's 👍/👎 into a
 * stored entry with that trace. Personal data is handled as for history: entries expire after the
 * retention period, and people are stored as keyed pseudonyms unless configured otherwise.
 */
import { createHmac } from 'node:crypto';
import type { FeedbackConfig } from '../config/types.js';
import type { ModelInfo } from '../engine/types.js';
import { conversationKey } from '../history/key.js';
import type { Logger } from '../log.js';
import { cleanText } from '../text.js';
import type { RateOutcome, RateRequest, ReplyKind, Turn } from '../types.js';
import { turnRecord } from './record.js';
import type { FeedbackStore } from './store.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Replies people may rate: those a turn produced (commands and screening replies are not turns). */
const RATEABLE: ReadonlySet<ReplyKind> = new Set(['model', 'fallback', 'evidence', 'refusal']);
const TURN_ID = /^[\w-]{1,64}$/;

export const FEEDBACK_MESSAGES = {
  up: 'Thanks for the feedback!',
  down: 'Thanks for telling me. I will try to do better.',
  reason: 'Thanks, noted.',
  disabled: 'Feedback is not being collected here.',
  unknown: 'That reply can no longer be rated.',
  elsewhere: 'That reply belongs to another conversation.',
  failed: 'Sorry, I could not record that feedback. Please try again later.',
} as const;

export class FeedbackRecorder {
  private key?: Promise<string>;

  constructor(
    private readonly store: FeedbackStore | undefined,
    private readonly config: FeedbackConfig,
    private readonly model: ModelInfo,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.config.enabled && this.store !== undefined;
  }

  /** Whether people may rate this turn's reply. */
  rateable(turn: Turn): boolean {
    return this.enabled && turn.reply !== undefined && RATEABLE.has(turn.reply.kind);
  }

  /** Keeps the turn's trace for as long as it may be rated. Resolves false (logged) when the store failed. */
  async record(turn: Turn, weights: Record<string, number>, streamed: boolean): Promise<boolean> {
    try {
      await this.store!.putTurn(turnRecord(turn, { weights, model: this.model, streamed }), this.config.rateWithinDays * DAY_MS);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, turn: turn.id }, 'could not keep the turn for feedback: its reply cannot be rated');
      return false;
    }
  }

  async rate(request: RateRequest): Promise<RateOutcome> {
    if (!this.enabled) return { ok: false, message: FEEDBACK_MESSAGES.disabled };
    if (!TURN_ID.test(request.turnId) || (request.rating !== 'up' && request.rating !== 'down')) return { ok: false, message: FEEDBACK_MESSAGES.unknown };
    try {
      const record = await this.store!.turn(request.turnId);
      if (!record) return { ok: false, message: FEEDBACK_MESSAGES.unknown };
      if (record.conversation !== conversationKey(request.address)) return { ok: false, message: FEEDBACK_MESSAGES.elsewhere };
      const reason = request.reason === undefined ? '' : cleanText(request.reason).slice(0, this.config.maxReasonLength);
      await this.store!.putFeedback(
        {
          turnId: record.turnId,
          user: await this.pseudonym(request.address.platform, request.user.id),
          rating: request.rating,
          ...(reason ? { reason } : {}),
          at: Date.now(),
          turn: record,
        },
        this.config.retentionDays * DAY_MS,
      );
      return { ok: true, message: reason ? FEEDBACK_MESSAGES.reason : FEEDBACK_MESSAGES[request.rating] };
    } catch (error) {
      this.logger.error({ err: error, turn: request.turnId }, 'could not record feedback');
      return { ok: false, message: FEEDBACK_MESSAGES.failed };
    }
  }

  async close(): Promise<void> {
    await this.store?.close();
  }

  /** The same person gets the same pseudonym in every process sharing the store, and it reveals nothing without the store's key. */
  private async pseudonym(platform: string, id: string): Promise<string> {
    const user = `${platform}:${id}`;
    if (!this.config.hashUserIds) return user;
    this.key ??= this.store!.secret();
    // A failed read is not cached: the next rating tries again.
    this.key.catch(() => (this.key = undefined));
    return createHmac('sha256', await this.key).update(user).digest('base64url').slice(0, 22);
  }
}
