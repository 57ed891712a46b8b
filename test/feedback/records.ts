/** Handcrafted turn records and ratings for the feedback tests. */
import type { CandidateRecord, FeedbackEntry, TurnRecord } from '../../core/feedback/index.js';
import type { Rating } from '../../core/types.js';

export const DECODING = {
  strategy: 'sample',
  numCandidates: 4,
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  repetitionPenalty: 1,
  noRepeatNgramSize: 3,
  minNewTokens: 1,
  maxNewTokens: 40,
  beamWidth: 4,
  lengthPenalty: 1,
} as const;

export function candidate(text: string, scores: Record<string, number>, rejected?: CandidateRecord['rejected']): CandidateRecord {
  return { text, tokenCount: text.split(' ').length, logprob: scores.logprob ?? -10, avgLogprob: scores.avgLogprob ?? -2, scores, ...(rejected ? { rejected } : {}) };
}

export function turnRecord(turnId: string, candidates: CandidateRecord[], chosen: number, overrides: Partial<TurnRecord> = {}): TurnRecord {
  return {
    turnId,
    at: 1_700_000_000_000,
    conversation: 'web:client:conv',
    platform: 'web',
    preset: 'default',
    model: { name: 'tiny-gpt2', type: 'gpt2', dtype: 'fp32' },
    decoding: { ...DECODING },
    weights: { avgLogprob: 1, mmi: 1 },
    message: 'How tall is Mount Everest?',
    prompt: { persona: ['I am a mountain.'], knowledge: ['Everest is 8,849 m tall.'], history: [{ role: 'user', text: 'How tall is Mount Everest?' }] },
    promptText: '<|persona|>I am a mountain.<|knowledge|>Everest is 8,849 m tall.<|user|>How tall is Mount Everest?<|bot|>',
    evidence: [],
    candidates,
    chosen,
    reply: { text: chosen >= 0 ? candidates[chosen].text : 'Sorry, I do not know.', kind: chosen >= 0 ? 'model' : 'fallback' },
    streamed: false,
    trace: [],
    ...overrides,
  };
}

export function rating(turn: TurnRecord, value: Rating, user = 'user-1', at = turn.at + 1000, reason?: string): FeedbackEntry {
  return { turnId: turn.turnId, user, rating: value, at, turn, ...(reason ? { reason } : {}) };
}
