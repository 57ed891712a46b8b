/**
 * Synthetic feedback with known preferences: people whose liking of a reply follows a
 * Bradley–Terry model with TRUE_WEIGHTS. They prefer short replies: the summed `logprob` (more
 * negative the longer the reply) carries weight besides the per-token `avgLogprob` and `mmi`.
 * Each turn has two candidates that reached selection; the bot picks one with the weights it runs
 * (CURRENT_WEIGHTS) and the person gives it 👍 with probability sigmoid(w · (s_reply − s_other)),
 * else 👎. So each turn yields exactly one pair whose outcome follows the true model.
 */
import { mulberry32 } from '../../core/engine/sampling.js';
import type { FeedbackEntry } from '../../core/feedback/index.js';
import { selectCandidate } from '../../core/selection.js';
import type { Candidate } from '../../core/types.js';
import { candidate, turnRecord } from './records.js';

export const TRUE_WEIGHTS = { avgLogprob: 1, logprob: 0.1, mmi: 0.5 };
export const CURRENT_WEIGHTS = { avgLogprob: 1, mmi: 1 };

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Scores of a candidate of `words` words: fluency per token, its sum over the reply, and MMI. */
export function scoresOf(words: number, avgLogprob: number, mmi: number): Record<string, number> {
  return { avgLogprob, logprob: avgLogprob * (words + 1), mmi };
}

const utility = (scores: Record<string, number>) => Object.entries(TRUE_WEIGHTS).reduce((sum, [name, w]) => sum + w * scores[name], 0);

export function syntheticFeedback(turns: number, seed = 1): FeedbackEntry[] {
  const random = mulberry32(seed);
  const entries: FeedbackEntry[] = [];
  for (let i = 0; i < turns; i++) {
    const candidates = [0, 1].map((index) => {
      const words = 2 + Math.floor(random() * 24);
      const scores = scoresOf(words, -2.5 + 0.6 * normal(random), -3 + 0.8 * normal(random));
      return candidate(`candidate ${index} of turn ${i}: ${'word '.repeat(words).trim()}`, scores);
    });
    const chosen = selectCandidate(candidates.map((c) => ({ ...c, tokens: [], scores: c.scores }) as Candidate), CURRENT_WEIGHTS);
    const margin = utility(candidates[chosen].scores) - utility(candidates[1 - chosen].scores);
    const liked = random() < 1 / (1 + Math.exp(-margin));
    const turn = turnRecord(`synthetic-${seed}-${i}`, candidates, chosen, { weights: CURRENT_WEIGHTS, at: 1_700_000_000_000 + i });
    entries.push({ turnId: turn.turnId, user: `person-${i % 50}`, rating: liked ? 'up' : 'down', at: turn.at + 1, turn });
  }
  return entries;
}
