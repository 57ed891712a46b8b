/**
 * log p(continuation | context) for many pairs in batched forward passes. Pairs are LEFT-padded so
 * that every continuation ends at the last position: one pass over the padded batch gives every
 * continuation token's predicting logits. Pads are masked and position ids skip them, so a padded
 * row computes exactly what it would alone.
 */
import { EngineInputError } from './errors.js';
import { logNormOf, type Decoder } from './decoder.js';
import type { ScorePair } from './types.js';

/**
 * Upper bound on one pass's logits ([batch, length, vocab] float32): 512 MB, so that 16 MMI pairs
 * of ~90 tokens on a 50k vocabulary (~300 MB) stay one batched pass; only larger batches split.
 */
const MAX_LOGIT_BYTES = 512 * 1024 * 1024;
const MAX_LOGIT_FLOATS = MAX_LOGIT_BYTES / Float32Array.BYTES_PER_ELEMENT;

export interface ScoreContext {
  decoder: Decoder;
  contextWindow: number;
  /** Put before an empty context so that the first continuation token has a predictor. */
  bosToken: number;
}

/** The pair's token sequence: context truncated from the left to fit the window; continuation kept. */
function sequenceOf(pair: ScorePair, context: ScoreContext): { tokens: number[]; continuationLength: number } {
  const prefix = pair.context.length > 0 ? pair.context : [context.bosToken];
  const room = context.contextWindow - pair.continuation.length;
  if (room < 1) {
    throw new EngineInputError(
      `continuation of ${pair.continuation.length} tokens does not fit the model's context window (${context.contextWindow})`,
    );
  }
  return { tokens: [...prefix.slice(-room), ...pair.continuation], continuationLength: pair.continuation.length };
}

async function scoreChunk(context: ScoreContext, sequences: { tokens: number[]; continuationLength: number }[]): Promise<number[]> {
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
  const scores = sequences.map(({ tokens, continuationLength }, row) => {
    let sum = 0;
    for (let i = tokens.length - continuationLength; i < tokens.length; i++) {
      // Token at sequence index i is predicted by the logits at index i - 1 (padded offset).
      const position = width - tokens.length + i - 1;
      const index = row * width + position;
      const predictor = data.subarray(index * vocab, (index + 1) * vocab);
      sum += predictor[tokens[i]] - logNormOf(outputs, index, predictor);
    }
    return sum;
  });
  return scores;
}

export async function scorePairs(context: ScoreContext, pairs: ScorePair[]): Promise<number[]> {
  const vocab = context.decoder.shape.vocabSize;
  const results = new Array<number>(pairs.length).fill(0);
  // Only pairs with a continuation need the model; chunks keep each pass's logits bounded.
  const pending = pairs.flatMap((pair, index) => (pair.continuation.length > 0 ? [{ index, ...sequenceOf(pair, context) }] : []));
  let start = 0;
  while (start < pending.length) {
    let end = start;
    let width = 0;
    while (end < pending.length) {
      const nextWidth = Math.max(width, pending[end].tokens.length);
      if (end > start && (end - start + 1) * nextWidth * vocab > MAX_LOGIT_FLOATS) break;
      width = nextWidth;
      end++;
    }
    const chunk = pending.slice(start, end);
    const scores = await scoreChunk(context, chunk);
    chunk.forEach((item, i) => (results[item.index] = scores[i]));
    start = end;
  }
  return results;
}
