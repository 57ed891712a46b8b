/**
 * log p(continuation | context) for many pairs in batched forward passes. Pairs are LEFT-padded so
 * that every continuation ends at the last position: one pass over the padded batch gives every
 * continuation token's predicting logits. Pads are masked and position ids skip them, so a padded
 * row computes exactly what it would alone.
 */
import { EngineInputError } from './errors.js';
import { logNormOf, type Decoder } from './decoder.js';
import { mostLikely } from './sampling.js';
import type { ScorePair, TokenScores } from './types.js';

/**
 * Positions (rows x padded width) of one scoring pass. Its logits are [positions, vocab] float32, so
 * this bounds a pass's memory (2048 x 8k vocabulary: 64 MB), and short passes over rows of similar
 * length waste little on padding: measured on banter-chat's backward model, the MMI pairs of 16
 * turns in one padded pass cost 2.6x what they cost scored turn by turn.
 */
const MAX_PASS_POSITIONS = 2048;
/** And at most this many logits per pass (a 50k vocabulary: 5 MB per position, ~100 positions). */
const MAX_PASS_LOGITS = (512 * 1024 * 1024) / Float32Array.BYTES_PER_ELEMENT;

export interface ScoreContext {
  decoder: Decoder;
  contextWindow: number;
  /** Put before an empty context so that the first continuation token has a predictor. */
  bosToken: number;
}

/** A pair to score, with how many most likely tokens to report at each continuation position (0: none). */
export interface ScoreItem {
  pair: ScorePair;
  top: number;
}

interface Sequence {
  tokens: number[];
  continuationLength: number;
  top: number;
}

/** The pair's token sequence: context truncated from the left to fit the window; continuation kept. */
function sequenceOf({ pair, top }: ScoreItem, context: ScoreContext): Sequence {
  const prefix = pair.context.length > 0 ? pair.context : [context.bosToken];
  const room = context.contextWindow - pair.continuation.length;
  if (room < 1) {
    throw new EngineInputError(
      `continuation of ${pair.continuation.length} tokens does not fit the model's context window (${context.contextWindow})`,
    );
  }
  return { tokens: [...prefix.slice(-room), ...pair.continuation], continuationLength: pair.continuation.length, top };
}

async function scoreChunk(context: ScoreContext, sequences: Sequence[]): Promise<TokenScores[]> {
  const { decoder } = context;
  const vocab = decoder.shape.vocabSize;
  const batch = sequences.length;
  const width = Math.max(...sequences.map((sequence) => sequence.tokens.length));
  const inputIds = new BigInt64Array(batch * width);
  const attentionMask = new BigInt64Array(batch * width);
  const positionIds = new BigInt64Array(batch * width);
  sequences.forEach(({ tokens }, row) => {
    const pad = width - tokens.length;
    tokens.forEach((token, i) => {
      inputIds[row * width + pad + i] = BigInt(token);
      attentionMask[row * width + pad + i] = 1n;
      positionIds[row * width + pad + i] = BigInt(i);
    });
  });
  const outputs = await decoder.logitsOnly({ inputIds, batch, seq: width, attentionMask, positionIds });
  const data = outputs.logits;
  const scratch = new Int32Array(Math.max(1, ...sequences.map((sequence) => sequence.top)));
  return sequences.map(({ tokens, continuationLength, top }, row) => {
    const scores: TokenScores = { logprobs: [], ...(top > 0 ? { top: [] } : {}) };
    for (let i = tokens.length - continuationLength; i < tokens.length; i++) {
      // Token at sequence index i is predicted by the logits at index i - 1 (padded offset).
      const position = width - tokens.length + i - 1;
      const index = row * width + position;
      const predictor = data.subarray(index * vocab, (index + 1) * vocab);
      const logNorm = logNormOf(outputs, index, predictor);
      scores.logprobs.push(predictor[tokens[i]] - logNorm);
      scores.top?.push(mostLikely(predictor, logNorm, top, scratch));
    }
    return scores;
  });
}

/** The sum of a pair's token log-probabilities, added in order (as the score of the pair). */
export function sumLogprobs(logprobs: readonly number[]): number {
  let sum = 0;
  for (const logprob of logprobs) sum += logprob;
  return sum;
}

export async function scorePairs(context: ScoreContext, pairs: ScorePair[]): Promise<number[]> {
  return (await scoreTokens(context, pairs.map((pair) => ({ pair, top: 0 })))).map((scores) => sumLogprobs(scores.logprobs));
}

/**
 * Each continuation token's log-probability (and most likely tokens) for every item, in batched
 * passes over rows sorted by length (a row's scores do not depend on the rows beside it).
 */
export async function scoreTokens(context: ScoreContext, items: ScoreItem[]): Promise<TokenScores[]> {
  const vocab = context.decoder.shape.vocabSize;
  const results: TokenScores[] = items.map(({ top }) => ({ logprobs: [], ...(top > 0 ? { top: [] } : {}) }));
  // Only pairs with a continuation need the model.
  const pending = items.flatMap((item, index) => (item.pair.continuation.length > 0 ? [{ index, ...sequenceOf(item, context) }] : []));
  pending.sort((a, b) => a.tokens.length - b.tokens.length);
  let start = 0;
  while (start < pending.length) {
    // Sorted ascending: the last row of a chunk sets its width.
    let end = start + 1;
    while (end < pending.length) {
      const positions = (end - start + 1) * pending[end].tokens.length;
      if (positions > MAX_PASS_POSITIONS || positions * vocab > MAX_PASS_LOGITS) break;
      end++;
    }
    const chunk = pending.slice(start, end);
    const scores = await scoreChunk(context, chunk);
    chunk.forEach((item, i) => (results[item.index] = scores[i]));
    start = end;
  }
  return results;
}
