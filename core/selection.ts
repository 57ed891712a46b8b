/** Selection: a weighted sum of named candidate scores (LaMDA's "rank by quality", made configurable). */
import type { Candidate } from './types.js';

/** Sum of weight * score over the weighted names. A weighted score a candidate lacks counts as 0. */
export function weightedTotal(scores: Record<string, number>, weights: Record<string, number>): number {
  let total = 0;
  for (const [name, weight] of Object.entries(weights)) {
    const score = scores[name];
    if (weight !== 0 && score !== undefined && Number.isFinite(score)) total += weight * score;
  }
  return total;
}

/**
 * Sets `total` on every surviving candidate and returns the index of the best one, or -1 when
 * none survived. Ties go to the earlier candidate, so selection is deterministic for fixed scores.
 */
export function selectCandidate(candidates: Candidate[], weights: Record<string, number>): number {
  let best = -1;
  for (const [index, candidate] of candidates.entries()) {
    if (candidate.rejected) continue;
    candidate.total = weightedTotal(candidate.scores, weights);
    if (best === -1 || candidate.total > candidates[best].total!) best = index;
  }
  return best;
}
