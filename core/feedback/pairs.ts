/**
 * Preference pairs from ratings: a 👍 reply over each candidate it beat at selection, and each of
 * those candidates over a 👎 reply. Only candidates that reached selection count (a filter's
 * rejection says nothing about what people prefer), and a candidate with the reply's own text is
 * no comparison. Written as JSONL in the chosen/rejected layout reward-model trainers read
 * (Hugging Face TRL's preference datasets): conversational (lists of messages) or plain text.
 */
import type { Rating } from '../types.js';
import type { CandidateRecord, FeedbackEntry, TurnRecord } from './types.js';

export interface PreferencePair {
  turn: TurnRecord;
  rating: Rating;
  /** Indices into `turn.candidates`: the preferred and the other candidate. */
  chosen: number;
  rejected: number;
}

export function preferencePairs(entries: readonly FeedbackEntry[]): PreferencePair[] {
  const pairs: PreferencePair[] = [];
  for (const entry of entries) {
    const { turn, rating } = entry;
    const reply = turn.candidates[turn.chosen];
    if (turn.chosen < 0 || !reply || turn.reply.kind !== 'model') continue;
    for (const other of competitors(turn)) {
      pairs.push(rating === 'up' ? { turn, rating, chosen: turn.chosen, rejected: other } : { turn, rating, chosen: other, rejected: turn.chosen });
    }
  }
  return pairs;
}

/** Candidates the reply was compared with at selection: not rejected, not empty, each text once, not the reply's text. */
function competitors(turn: TurnRecord): number[] {
  const seen = new Set([normalized(turn.candidates[turn.chosen])]);
  const indices: number[] = [];
  turn.candidates.forEach((candidate, index) => {
    const text = normalized(candidate);
    if (candidate.rejected || !text || seen.has(text)) return;
    seen.add(text);
    indices.push(index);
  });
  return indices;
}

function normalized(candidate: CandidateRecord): string {
  return candidate.text.trim().replace(/\s+/g, ' ');
}

export type PairFormat = 'conversational' | 'text';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One JSON object per pair: `prompt`, `chosen`, `rejected` (and `meta` when asked). */
export function pairRecord(pair: PreferencePair, options: { format: PairFormat; meta?: boolean }): Record<string, unknown> {
  const { turn } = pair;
  const chosen = turn.candidates[pair.chosen].text;
  const rejected = turn.candidates[pair.rejected].text;
  const record: Record<string, unknown> =
    options.format === 'text'
      ? { prompt: turn.promptText, chosen, rejected }
      : { prompt: promptMessages(turn), chosen: [{ role: 'assistant', content: chosen }], rejected: [{ role: 'assistant', content: rejected }] };
  if (options.meta) {
    record.meta = {
      turnId: turn.turnId,
      rating: pair.rating,
      preset: turn.preset,
      model: turn.model.name,
      at: turn.at,
      chosenIndex: pair.chosen,
      rejectedIndex: pair.rejected,
      chosenScores: turn.candidates[pair.chosen].scores,
      rejectedScores: turn.candidates[pair.rejected].scores,
    };
  }
  return record;
}

/** The prompt as chat messages: persona and knowledge as the system message (as chat templates get them), then the history. */
function promptMessages(turn: TurnRecord): Message[] {
  const system = [...turn.prompt.persona, ...turn.prompt.knowledge].join('\n');
  return [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...turn.prompt.history.map((h): Message => ({ role: h.role === 'user' ? 'user' : 'assistant', content: h.text })),
  ];
}

export function pairsJsonl(pairs: readonly PreferencePair[], options: { format: PairFormat; meta?: boolean }): string {
  return pairs.map((pair) => `${JSON.stringify(pairRecord(pair, options))}\n`).join('');
}
