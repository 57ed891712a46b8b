/** What the feedback store keeps: each rateable turn's trace, and the ratings people gave it. */
import type { DecodeOptions } from '../engine/types.js';
import type { HistoryTurn, Rating, ReplyKind, TraceEntry } from '../types.js';

export interface CandidateRecord {
  text: string;
  tokenCount: number;
  logprob: number;
  avgLogprob: number;
  /** Every named score the plugins gave it (`mmi`, `safety.<rule>`, `reward`, ...), `logprob`/`avgLogprob` included. */
  scores: Record<string, number>;
  /** Weighted total at the select stage (absent for candidates that were rejected before it). */
  total?: number;
  rejected?: { by: string; reason: string };
}

/** A turn as it was answered: enough to rebuild every comparison the selection made. */
export interface TurnRecord {
  turnId: string;
  /** Epoch milliseconds, when the reply was sent. */
  at: number;
  /** History key of the conversation (`platform:channel[:thread]`). */
  conversation: string;
  platform: string;
  preset: string;
  model: { name: string; type: string; dtype: string };
  decoding: DecodeOptions;
  /** The selection weights in effect (bot config merged with the preset's). */
  weights: Record<string, number>;
  /** The message that was answered. */
  message: string;
  /** What the model was shown: persona lines, knowledge, history (already cut to fit). */
  prompt: { persona: string[]; knowledge: string[]; history: Pick<HistoryTurn, 'role' | 'text'>[] };
  /** The rendered prompt, control tokens included. */
  promptText: string;
  evidence: { title: string; url: string; score: number }[];
  candidates: CandidateRecord[];
  /** Index of the candidate that became the reply, or -1 (fallback, refusal, an answer from evidence). */
  chosen: number;
  reply: { text: string; kind: ReplyKind };
  /** Whether the reply was shown as it was written. */
  streamed: boolean;
  trace: TraceEntry[];
}

export interface FeedbackEntry {
  turnId: string;
  /** A keyed pseudonym of the platform user id (or the id itself when `hashUserIds` is off). */
  user: string;
  rating: Rating;
  reason?: string;
  /** Epoch milliseconds, when it was given (last changed). */
  at: number;
  turn: TurnRecord;
}
