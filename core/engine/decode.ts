/**
 * Sampling and greedy decoding as a job of the scheduler: the prompt is prefilled once, its cache row
 * expanded to N candidates, and each step the job picks every candidate's next token from its row of
 * logits; finished candidates leave the batch (their rows are dropped).
 */
import { EngineInputError } from './errors.js';
import { RowProcessor } from './logits.js';
import { argmax, mostLikely, mulberry32, SamplerScratch, sampleToken } from './sampling.js';
import type { DecodeOptions, GeneratedCandidate, GenerateControl, TextTokenizer, TokenLogprob } from './types.js';

/**
 * Generated tokens, summed raw log-probability, and whether an end token was produced; the raw
 * log-probability of each chosen token (the end token's last), and the most likely tokens at each
 * position when `topLogprobs` asks for them.
 */
export interface RawCandidate {
  tokens: number[];
  logprob: number;
  finished: boolean;
  endToken?: number;
  tokenLogprobs: number[];
  topLogprobs?: TokenLogprob[][];
}

/** What decoding needs to know of the model. */
export interface DecodeContext {
  vocabSize: number;
  /** Tokens that end a candidate (a chat model may have several: <|im_end|>, <|endoftext|>). */
  endTokens: ReadonlySet<number>;
  contextWindow: number;
}

/**
 * One turn's decoding, stepped by the scheduler. Each call of `advance` gets the logits of the
 * job's rows (after the prefill: one row, the prompt's last position) and returns which of those
 * rows continue, in order; repeats expand a row (the prompt's, into N candidates); [] ends the job.
 */
export interface DecodeJob {
  readonly prompt: readonly number[];
  /** Positions its rows will hold at most: the prompt and every new token. */
  readonly reserve: number;
  advance(rows: readonly Float32Array[], logNorms: readonly number[]): number[];
  /** The token each continuing row feeds next, in row order. */
  nextTokens(): number[];
  result(): RawCandidate[];
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

export function toGenerated(raw: RawCandidate, tokenizer: TextTokenizer): GeneratedCandidate {
  // The end token's log-probability counts (the model chose to stop there), so it counts in the length too.
  const length = raw.tokens.length + (raw.finished ? 1 : 0);
  return {
    text: tokenizer.decode(raw.tokens).trim(),
    tokens: raw.tokens,
    logprob: raw.logprob,
    avgLogprob: length > 0 ? raw.logprob / length : 0,
    finished: raw.finished,
    ...(raw.endToken === undefined ? {} : { endToken: raw.endToken }),
    tokenLogprobs: raw.tokenLogprobs,
    ...(raw.topLogprobs ? { topLogprobs: raw.topLogprobs } : {}),
  };
}

/**
 * Sampling (`strategy: sample`) or greedy decoding. Greedy returns one candidate: N greedy copies
 * would be identical. Candidate logprob sums log-softmax of the RAW logits (no temperature,
 * penalties or truncation) at each chosen token, end token included when produced.
 */
export class SamplingJob implements DecodeJob {
  readonly reserve: number;
  private readonly maxNew: number;
  private readonly greedy: boolean;
  private readonly random: () => number;
  private readonly processor: RowProcessor;
  private readonly scratch: SamplerScratch;
  private readonly candidates: RawCandidate[];
  /** Row r of the batch belongs to candidates[active[r]]. */
  private active: number[] = [];
  private chosen = 0;

  constructor(
    private readonly context: DecodeContext,
    readonly prompt: readonly number[],
    private readonly options: DecodeOptions,
    private readonly onToken?: GenerateControl['onToken'],
  ) {
    this.maxNew = newTokenBudget(context, prompt, options.maxNewTokens);
    this.reserve = prompt.length + this.maxNew;
    this.greedy = options.strategy === 'greedy' || options.temperature <= 0;
    const count = options.strategy === 'greedy' ? 1 : Math.max(1, Math.floor(options.numCandidates));
    this.random = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.processor = new RowProcessor(context.vocabSize, prompt, options, context.endTokens);
    this.scratch = new SamplerScratch(context.vocabSize);
    const top = options.topLogprobs ?? 0;
    this.candidates = Array.from({ length: count }, () => ({ tokens: [], logprob: 0, finished: false, tokenLogprobs: [], ...(top > 0 ? { topLogprobs: [] } : {}) }));
  }

  /** Picks the next token of `candidate` from its row of raw logits (processed in place, then restored). */
  private choose(raw: Float32Array, rawLogNorm: number, index: number): void {
    const candidate = this.candidates[index];
    candidate.topLogprobs?.push(mostLikely(raw, rawLogNorm, this.options.topLogprobs!, this.scratch.indices));
    this.processor.apply(raw, candidate.tokens);
    const token = this.greedy ? argmax(raw) : sampleToken(raw, this.options, this.random, this.scratch);
    this.processor.restore();
    const logprob = raw[token] - rawLogNorm;
    candidate.logprob += logprob;
    candidate.tokenLogprobs.push(logprob);
    if (this.context.endTokens.has(token)) {
      candidate.finished = true;
      candidate.endToken = token;
    } else {
      candidate.tokens.push(token);
      this.onToken?.({ candidate: index, token, logprob });
    }
  }

  advance(rows: readonly Float32Array[], logNorms: readonly number[]): number[] {
    if (this.chosen === 0) {
      // The prompt's last position: every candidate draws its first token from the same row.
      this.candidates.forEach((_, index) => this.choose(rows[0], logNorms[0], index));
      this.active = this.candidates.flatMap((candidate, i) => (candidate.finished ? [] : [i]));
      this.chosen = 1;
      return this.chosen < this.maxNew ? this.active.map(() => 0) : [];
    }
    this.active.forEach((index, row) => this.choose(rows[row], logNorms[row], index));
    this.chosen++;
    const running = this.active.flatMap((index, row) => (this.candidates[index].finished ? [] : [row]));
    this.active = running.map((row) => this.active[row]);
    return this.chosen < this.maxNew ? running : [];
  }

  nextTokens(): number[] {
    return this.active.map((index) => this.candidates[index].tokens.at(-1)!);
  }

  result(): RawCandidate[] {
    return this.candidates;
  }
}
