/** Bounds a conversation's history by turns and tokens. */
import type { HistoryTurn } from '../types.js';

export interface HistoryLimits {
  maxTurns: number;
  maxTokens: number;
  /** Tokens of one turn's text (the engine's tokenizer, or an estimate). */
  countTokens: (text: string) => number;
}

/**
 * Keeps the newest turns that fit both limits, dropping the oldest first; never returns more
 * than `maxTokens` in total, so a newest turn that alone exceeds it leaves nothing. Pure: the
 * input is not changed.
 */
export function trimHistory<T extends Pick<HistoryTurn, 'text'>>(turns: readonly T[], limits: HistoryLimits): T[] {
  let tokens = 0;
  let start = turns.length;
  while (start > 0 && turns.length - start < limits.maxTurns) {
    const cost = limits.countTokens(turns[start - 1].text);
    if (tokens + cost > limits.maxTokens) break;
    tokens += cost;
    start--;
  }
  return turns.slice(start);
}
