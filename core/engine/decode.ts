/**
 * Batched sampling / greedy decoding. The prompt is prefilled once (batch 1); its key/value cache is
 * then expanded to N rows and all N candidates advance together, one forward pass per step.
 * Finished candidates leave the batch (their cache rows are dropped).
 */
import { EngineInputError } from './errors.js';
import { RowProcessor } from './logits.js';
import { argmax, mulberry32, SamplerScratch, sampleToken } from './sampling.js';
import { logNormOf, type Decoder } from './decoder.js';
import type { KvCache } from './kv-cache.js';
import type { DecodeOptions, GeneratedCandidate, TextTokenizer } from './types.js';

export interface DecodeContext {
  decoder: Decoder;
  tokenizer: TextTokenizer;
  /** Tokens that end a candidate (a chat model may have several: <|im_end|>, <|endoftext|>). */
  endTokens: ReadonlySet<number>;
  contextWindow: number;
}

/** Generated tokens, summed raw log-probability, and whether the end token was produced. */
export interface RawCandidate {
  tokens: number[];
  logprob: number;
  finished: boolean;
}

/** How many new tokens fit after `prompt`; throws when none do. */
export function newTokenBudget(context: DecodeContext, prompt: readonly number[], maxNewTokens: number): number {
  if (prompt.length === 0) throw new EngineInputError('cannot generate from an empty prompt');
  if (!(maxNewTokens >= 1)) throw new EngineInputError(`maxNewTokens must be at least 1 (got ${maxNewTokens})`);
  const room = context.contextWindow - prompt.length;
  if (room < 1) {
    throw new EngineInputError(`prompt of ${prompt.length} tokens fills the model's context window (${context.contextWindow})`);
  }
  return Math.min(maxNewTokens, room);
}

/**
 * Runs the prompt once with batch 1: returns its cache, with room for `newTokens` more, and the
 * logits of its last position.
 */
export async function prefill(
  decoder: Decoder,
  prompt: readonly number[],
  newTokens: number,
): Promise<{ cache: KvCache; last: Float32Array; lastLogNorm: number }> {
  const length = prompt.length;
  const outputs = await decoder.forward({
    inputIds: BigInt64Array.from(prompt, BigInt),
    batch: 1,
    seq: length,
    attentionMask: new BigInt64Array(length).fill(1n),
    positionIds: BigInt64Array.from({ length }, (_, i) => BigInt(i)),
    past: null,
    reserve: length + newTokens,
  });
  const vocab = decoder.shape.vocabSize;
  const last = outputs.logits.subarray((length - 1) * vocab, length * vocab);
  return { cache: outputs.present, last, lastLogNorm: logNormOf(outputs, length - 1, last) };
}

/**
 * One step for a batch whose rows all share the cache length (no padding): each row feeds one token.
 * CONSUMES `cache`: continue with the returned `present`.
 */
export async function stepBatch(decoder: Decoder, cache: KvCache, lastTokens: readonly number[]) {
  const batch = lastTokens.length;
  return decoder.forward({
    inputIds: BigInt64Array.from(lastTokens, BigInt),
    batch,
    seq: 1,
    attentionMask: new BigInt64Array(batch * (cache.length + 1)).fill(1n),
    positionIds: new BigInt64Array(batch).fill(BigInt(cache.length)),
    past: cache,
  });
}

export function toGenerated(raw: RawCandidate, tokenizer: TextTokenizer): GeneratedCandidate {
  // The end token's log-probability counts (the model chose to stop there), so it counts in the length too.
  const length = raw.tokens.length + (raw.finished ? 1 : 0);
  return {
    text: tokenizer.decode(raw.tokens).trim(),
    tokens: raw.tokens,
    logprob: raw.logprob,
    avgLogprob: length > 0 ? raw.logprob / length : 0,
    finished: raw.finished,
  };
}

/**
 * Sampling (`strategy: sample`) or greedy decoding. Greedy returns one candidate: N greedy copies
 * would be identical. Candidate logprob sums log-softmax of the RAW logits (no temperature,
 * penalties or truncation) at each chosen token, end token included when produced.
 */
export async function sampleOrGreedy(context: DecodeContext, prompt: readonly number[], options: DecodeOptions): Promise<RawCandidate[]> {
  const { decoder, endTokens } = context;
  const vocab = decoder.shape.vocabSize;
  const maxNew = newTokenBudget(context, prompt, options.maxNewTokens);
  const greedy = options.strategy === 'greedy' || options.temperature <= 0;
  const count = options.strategy === 'greedy' ? 1 : Math.max(1, Math.floor(options.numCandidates));
  const random = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const processor = new RowProcessor(vocab, prompt, options, endTokens);
  const scratch = new SamplerScratch(vocab);
  const candidates: RawCandidate[] = Array.from({ length: count }, () => ({ tokens: [], logprob: 0, finished: false }));

  /** Picks the next token of `candidate` from its row of raw logits (processed in place, then restored). */
  const choose = (raw: Float32Array, rawLogNorm: number, candidate: RawCandidate) => {
    processor.apply(raw, candidate.tokens);
    const token = greedy ? argmax(raw) : sampleToken(raw, options, random, scratch);
    processor.restore();
    candidate.logprob += raw[token] - rawLogNorm;
    if (endTokens.has(token)) candidate.finished = true;
    else candidate.tokens.push(token);
  };

  const first = await prefill(decoder, prompt, maxNew);
  for (const candidate of candidates) choose(first.last, first.lastLogNorm, candidate);

  // Cache row r belongs to candidates[active[r]].
  let active = candidates.map((_, i) => i).filter((i) => !candidates[i].finished);
  let cache = decoder.selectRows(first.cache, active.map(() => 0));
  for (let step = 1; step < maxNew && active.length > 0; step++) {
    const outputs = await stepBatch(decoder, cache, active.map((i) => candidates[i].tokens.at(-1)!));
    cache = outputs.present;
    const data = outputs.logits;
    active.forEach((index, row) => {
      const raw = data.subarray(row * vocab, (row + 1) * vocab);
      choose(raw, logNormOf(outputs, row, raw), candidates[index]);
    });
    const stillRunning = active.flatMap((index, row) => (candidates[index].finished ? [] : [row]));
    // Finished candidates leave the batch, so the remaining steps run on fewer rows.
    if (stillRunning.length > 0) cache = decoder.selectRows(cache, stillRunning);
    active = stillRunning.map((row) => active[row]);
  }
  decoder.dispose(cache);
  return candidates;
}
