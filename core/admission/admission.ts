/**
 * Admission: decides, before a message queues for its turn, whether it may wait at all. Caps on
 * waiting turns (per conversation, per user, overall) and token-bucket rate limits (per user, per
 * channel) are counted in an AdmissionState, namespaced by bot id, so a shared state makes the
 * limits hold across processes.
 */
import type { AdmissionState } from './state.js';

/** Beyond a cap: `busy` answers `busyText`, `drop` answers nothing; `debounce` also merges bursts (see core/admission/burst.ts) and answers like `busy`. */
export type OverflowPolicy = 'busy' | 'drop' | 'debounce';

export interface AdmissionConfig {
  /** Turns waiting or running per conversation, per user and overall; 0 means no cap. */
  maxPerConversation: number;
  maxPerUser: number;
  maxTotal: number;
  /** Beyond a cap: `busy` (and `debounce`) answer `busyText`; `drop` answers nothing (logged and evented). */
  policy: OverflowPolicy;
  busyText: string;
  /** Token buckets: burst size and refill per second; a capacity of 0 turns the limit off. */
  userRate: { capacity: number; perSecond: number };
  channelRate: { capacity: number; perSecond: number };
  rateLimitedText: string;
  /** Policy `debounce`: one user's messages in one conversation that come within `windowMs` of each other (at most `maxMessages`) make one turn. */
  debounce: { windowMs: number; maxMessages: number };
  /** From admission to delivery, a turn may take this long; then the user gets `deadlineText` and the turn is aborted. 0: no deadline. */
  turnDeadlineMs: number;
  deadlineText: string;
}

/** What a preset may override: any field, and any field of the nested ones. */
export type AdmissionOverrides = Partial<Omit<AdmissionConfig, 'userRate' | 'channelRate' | 'debounce'>> & {
  userRate?: Partial<AdmissionConfig['userRate']>;
  channelRate?: Partial<AdmissionConfig['channelRate']>;
  debounce?: Partial<AdmissionConfig['debounce']>;
};

export const DEFAULT_ADMISSION: AdmissionConfig = {
  maxPerConversation: 8,
  maxPerUser: 8,
  maxTotal: 256,
  policy: 'busy',
  busyText: "I'm a bit busy right now — please try again in a moment.",
  userRate: { capacity: 0, perSecond: 1 },
  channelRate: { capacity: 0, perSecond: 5 },
  rateLimitedText: "You're sending messages faster than I can answer — please slow down a little.",
  debounce: { windowMs: 1500, maxMessages: 5 },
  turnDeadlineMs: 60_000,
  deadlineText: "Sorry, that took me too long to answer — please try again.",
};

/** The bot's admission settings with a preset's overrides on top (nested sections field by field). */
export function mergeAdmission(base: AdmissionConfig, overrides: AdmissionOverrides | undefined): AdmissionConfig {
  if (!overrides) return base;
  return {
    ...base,
    ...overrides,
    userRate: { ...base.userRate, ...overrides.userRate },
    channelRate: { ...base.channelRate, ...overrides.channelRate },
    debounce: { ...base.debounce, ...overrides.debounce },
  };
}

/** Who a message counts against. */
export interface AdmissionSubject {
  conversation: string;
  user: string;
  channel: string;
}

export type Refusal = { reason: 'conversation' | 'user' | 'total'; text?: string } | { reason: 'rate'; text: string };

export type Admitted = { admitted: true; release: () => Promise<void> } | { admitted: false; refusal: Refusal };

/** Counts held longer than this are taken for a crashed holder's and expire. */
const HOLD_TTL_MS = 10 * 60_000;

export class Admission {
  constructor(
    private readonly state: AdmissionState,
    private readonly botId: string,
  ) {}

  async admit(subject: AdmissionSubject, config: AdmissionConfig): Promise<Admitted> {
    const ns = `banter:${this.botId}`;
    for (const [rate, key] of [
      [config.userRate, `${ns}:rate:user:${subject.user}`],
      [config.channelRate, `${ns}:rate:channel:${subject.channel}`],
    ] as const) {
      if (rate.capacity > 0 && !(await this.state.take(key, rate.capacity, rate.perSecond)))
        return { admitted: false, refusal: { reason: 'rate', text: config.rateLimitedText } };
    }
    const caps = [
      ['conversation', `${ns}:wait:conv:${subject.conversation}`, config.maxPerConversation],
      ['user', `${ns}:wait:user:${subject.user}`, config.maxPerUser],
      ['total', `${ns}:wait:total`, config.maxTotal],
    ] as const;
    const held: string[] = [];
    const release = async () => {
      for (const key of held.splice(0)) await this.state.add(key, -1, HOLD_TTL_MS);
    };
    for (const [reason, key, cap] of caps) {
      if (cap <= 0) continue;
      const count = await this.state.add(key, 1, HOLD_TTL_MS);
      held.push(key);
      if (count > cap) {
        await release();
        return { admitted: false, refusal: { reason, text: config.policy === 'drop' ? undefined : config.busyText } };
      }
    }
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return Promise.resolve();
        released = true;
        return release();
      },
    };
  }
}
