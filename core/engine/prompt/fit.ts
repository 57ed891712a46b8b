/**
 * Fits prompt parts into a token budget, the same way for every prompt encoder: the oldest whole
 * history turns go first (the newest, which the bot answers, stays), then persona lines from the
 * last, then knowledge snippets from the last (the first are the most relevant), and finally the
 * newest turn's text is cut from the left. Knowledge outlives persona: a fact the turn retrieved
 * for this message says more about the reply than a standing persona line. Searches are binary: each try renders the prompt anew.
 */
import { EngineInputError } from '../errors.js';
import type { PromptParts } from '../../types.js';
import type { EncodedPrompt } from './types.js';

export interface FitTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** Largest n in [low, high] with fits(n), given fits is monotone (true up to some n); low - 1 if none. */
function largest(low: number, high: number, fits: (n: number) => boolean): number {
  let best = low - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (fits(middle)) {
      best = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return best;
}

export function fitPrompt(
  parts: PromptParts,
  budget: number,
  encode: (parts: PromptParts) => number[],
  tokenizer: FitTokenizer,
  describe: () => string,
): EncodedPrompt {
  const attempt = (candidate: PromptParts) => {
    const tokens = encode(candidate);
    return tokens.length <= budget ? tokens : undefined;
  };
  let current: PromptParts = { persona: [...parts.persona], knowledge: [...parts.knowledge], history: [...parts.history] };
  let tokens = attempt(current);
  if (tokens) return { tokens, kept: current };

  const withHistory = (keep: number): PromptParts => ({ ...current, history: current.history.slice(current.history.length - keep) });
  const keepTurns = largest(1, current.history.length - 1, (keep) => attempt(withHistory(keep)) !== undefined);
  current = withHistory(Math.max(Math.min(1, current.history.length), keepTurns));
  tokens = attempt(current);
  if (tokens) return { tokens, kept: current };

  for (const field of ['persona', 'knowledge'] as const) {
    const all = current[field];
    const keep = largest(0, all.length - 1, (n) => attempt({ ...current, [field]: all.slice(0, n) }) !== undefined);
    current = { ...current, [field]: all.slice(0, Math.max(0, keep)) };
    tokens = attempt(current);
    if (tokens) return { tokens, kept: current };
  }

  const newest = current.history.at(-1);
  if (newest) {
    const text = tokenizer.encode(newest.text);
    const cut = (n: number): PromptParts => ({ ...current, history: [...current.history.slice(0, -1), { ...newest, text: tokenizer.decode(text.slice(-n)) }] });
    const keep = largest(1, text.length - 1, (n) => attempt(cut(n)) !== undefined);
    if (keep >= 1) {
      current = cut(keep);
      return { tokens: attempt(current)!, kept: current };
    }
  }
  throw new EngineInputError(describe());
}
