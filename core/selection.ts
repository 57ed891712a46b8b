/** Selection: a weighted sum of named candidate scores (LaMDA's "rank by quality", made configurable). */
import type { Candidate, Plugin } from './types.js';

/** Scores every candidate has from the engine. */
export const CORE_SCORES: Record<string, number> = { logprob: 0, avgLogprob: 0 };

/** Whether a declared score name (`mmi`, or a family `safety.*`) covers `name`. */
export function scoreMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** The scores a bot's plugins declare, with their default weights, after the engine's own. */
export function declaredScores(plugins: readonly Plugin[]): Record<string, number> {
  return Object.assign({}, CORE_SCORES, ...plugins.map((plugin) => plugin.scores ?? {}));
}

/**
 * Weight names that no declared score covers, each with the closest declared name; undefined when
 * a plugin with a score hook declares nothing (its scores are unknown, so nothing can be checked).
 */
export function unknownWeights(weights: Record<string, number>, plugins: readonly Plugin[]): { name: string; suggestion?: string }[] | undefined {
  if (plugins.some((plugin) => plugin.score && !plugin.scores)) return undefined;
  const declared = Object.keys(declaredScores(plugins));
  return Object.keys(weights)
    .filter((name) => !declared.some((pattern) => scoreMatches(pattern, name)))
    .map((name) => ({ name, suggestion: closest(name, declared.map((pattern) => pattern.replace(/\*$/, ''))) }));
}

/** The candidate within edit distance 2 (or a third of the word) closest to `word`. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

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
