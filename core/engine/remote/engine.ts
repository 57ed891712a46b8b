/**
 * A DialogueEngine whose model runs on an OpenAI-compatible engine server. The tokenizer, the
 * prompt format and the model's configs stay local (engine.model's folder, no ONNX file needed):
 * prompts are encoded here and sent as token ids, so `encodeDialogue`, history trimming and MMI
 * pairs cost no round trip and equal what the local engine computes. `generate` is one completion
 * request (N choices from one prefill on banter's server); `score` is one echo + logprobs request
 * whose prompt log-probabilities are summed over each continuation, exactly as the local engine sums them.
 */
import { EngineInputError } from '../errors.js';
import { DecodeAbortedError } from '../scheduler.js';
import { ModelTextEngine, type ModelText } from '../model-text.js';
import { sumLogprobs } from '../score.js';
import type {
  DecodeOptions,
  DialogueEngine,
  EngineFeature,
  GeneratedCandidate,
  GenerateControl,
  ModelInfo,
  ScorePair,
  TokenLogprob,
} from '../types.js';
import { RemoteEngineError, type EngineServerConnection } from './http.js';
import type { FeatureGap, ServerFeatures } from './probe.js';

interface Choice {
  index?: number;
  text?: string;
  finish_reason?: string | null;
  logprobs?: { tokens?: unknown[]; token_logprobs?: unknown[]; top_logprobs?: unknown[] } | null;
}

/** Prompts per scoring request (banter's server takes up to 64). */
const PROMPTS_PER_REQUEST = 64;

export class RemoteDialogueEngine extends ModelTextEngine implements DialogueEngine {
  readonly info: ModelInfo;
  readonly missing: ReadonlyMap<EngineFeature, string>;
  /** Requests sent and the server's own processing time in them (`openai-processing-ms`, when it says): the rest is the network hop. */
  readonly stats = { requests: 0, serverMs: 0 };
  private readonly ends: ReadonlySet<number>;

  constructor(
    text: ModelText,
    private readonly connection: EngineServerConnection,
    /** The model's id on the server. */
    readonly servedModel: string,
    readonly features: ServerFeatures,
    readonly gaps: readonly FeatureGap[],
    dtype: ModelInfo['dtype'],
  ) {
    super(text);
    this.info = { ...text.info, dtype, file: `${connection.url} (model ${servedModel})` };
    this.ends = new Set(text.info.endTokens);
    const missing = new Map<EngineFeature, string>();
    for (const gap of gaps) if (gap.feature === 'score' || gap.feature === 'beam') missing.set(gap.feature, `${gap.problem} (${connection.url}, model ${servedModel})`);
    this.missing = missing;
  }

  async generate(prompt: number[], options: DecodeOptions, control: GenerateControl = {}): Promise<GeneratedCandidate[]> {
    if (prompt.length === 0) throw new EngineInputError('cannot generate from an empty prompt');
    if (options.strategy === 'beam' && !this.features.beam) {
      throw new RemoteEngineError('engine_server_unsupported', `beam search is not available on the engine server (${this.missing.get('beam')})`);
    }
    const count = options.strategy === 'greedy' ? 1 : options.strategy === 'beam' ? Math.min(options.numCandidates, options.beamWidth) : Math.max(1, Math.floor(options.numCandidates));
    if (this.features.choices || count === 1 || options.strategy === 'beam') return this.complete(prompt, options, count, options.seed, control.signal);
    // No n > 1 on this server: one request per candidate, seeds apart so they differ.
    const requests = Array.from({ length: count }, (_, i) => this.complete(prompt, options, 1, options.seed === undefined ? undefined : options.seed + i, control.signal));
    return (await Promise.all(requests)).flat();
  }

  private async complete(prompt: number[], options: DecodeOptions, n: number, seed: number | undefined, signal?: AbortSignal): Promise<GeneratedCandidate[]> {
    const { features } = this;
    const body: Record<string, unknown> = {
      model: this.servedModel,
      prompt: features.tokenIdPrompts ? prompt : this.tokenizer.decode(prompt, { keepSpecial: true }),
      max_tokens: options.maxNewTokens,
      n,
    };
    if (features.generationLogprobs) body.logprobs = options.topLogprobs ?? 0;
    if (features.tokenIdsOut) body.return_tokens_as_token_ids = true;
    if (options.strategy === 'beam') Object.assign(body, { use_beam_search: true, best_of: options.beamWidth, length_penalty: options.lengthPenalty, temperature: 0 });
    else if (options.strategy === 'greedy' || options.temperature <= 0) body.temperature = 0;
    else {
      body.temperature = options.temperature;
      if (options.topP < 1) body.top_p = options.topP;
      if (options.topK > 0) body.top_k = options.topK;
    }
    if (options.repetitionPenalty !== 1) body.repetition_penalty = options.repetitionPenalty;
    if (options.noRepeatNgramSize > 0) body.no_repeat_ngram_size = options.noRepeatNgramSize;
    if (options.minNewTokens > 0) body.min_tokens = options.minNewTokens;
    if (seed !== undefined && features.seed !== 'refused') body.seed = seed;
    const answer = await this.send(body, signal);
    const choices = sortedChoices(answer.choices, `a completion of ${this.servedModel}`);
    return choices.map((choice) => this.candidateOf(choice, options.topLogprobs ?? 0));
  }

  /** A choice as a candidate, as the local engine builds one (tokens without the end token, text decoded from them and trimmed). */
  private candidateOf(choice: Choice, top: number): GeneratedCandidate {
    const finished = choice.finish_reason === 'stop';
    const reported = choice.logprobs?.token_logprobs;
    const tokenLogprobs = Array.isArray(reported) ? reported.filter((value): value is number => typeof value === 'number') : [];
    let tokens = tokenIds(choice.logprobs?.tokens);
    let endToken: number | undefined;
    if (tokens && finished && this.ends.has(tokens.at(-1)!)) {
      endToken = tokens.at(-1);
      tokens = tokens.slice(0, -1);
    }
    const text = tokens ? this.tokenizer.decode(tokens).trim() : (choice.text ?? '').trim();
    tokens ??= this.tokenizer.encode(text);
    const logprob = sumLogprobs(tokenLogprobs);
    const length = tokens.length + (finished ? 1 : 0);
    const candidate: GeneratedCandidate = { text, tokens, logprob, avgLogprob: length > 0 ? logprob / length : 0, finished, tokenLogprobs };
    if (endToken !== undefined) candidate.endToken = endToken;
    if (top > 0) candidate.topLogprobs = topLogprobsOf(choice.logprobs?.top_logprobs, top);
    return candidate;
  }

  async score(pairs: ScorePair[]): Promise<number[]> {
    const scoring = this.features.scoring;
    if (!scoring) throw new RemoteEngineError('engine_server_unsupported', `scoring is not available on the engine server (${this.missing.get('score')})`);
    const window = this.info.contextWindow;
    // The sequences the local engine scores: an empty context starts with BOS, a long one is cut from the left.
    const sequences = pairs.map((pair) => {
      const prefix = pair.context.length > 0 ? pair.context : [this.info.bosToken];
      const room = window - pair.continuation.length;
      if (room < 1) throw new EngineInputError(`continuation of ${pair.continuation.length} tokens does not fit the model's context window (${window})`);
      return [...prefix.slice(-room), ...pair.continuation];
    });
    const results = new Array<number>(pairs.length).fill(0);
    const pending = pairs.flatMap((pair, index) => (pair.continuation.length > 0 ? [index] : []));
    const perRequest = scoring.batch ? PROMPTS_PER_REQUEST : 1;
    const requests: Promise<void>[] = [];
    for (let start = 0; start < pending.length; start += perRequest) {
      const indices = pending.slice(start, start + perRequest);
      requests.push(
        this.echo(indices.map((i) => sequences[i]), scoring.maxTokens).then((logprobs) =>
          indices.forEach((index, i) => {
            const sequence = sequences[index];
            results[index] = sumLogprobs(logprobs[i].slice(sequence.length - pairs[index].continuation.length, sequence.length) as number[]);
          }),
        ),
      );
    }
    await Promise.all(requests);
    return results;
  }

  /** The prompt token log-probabilities of each sequence (index 0 is null: nothing predicts the first token). */
  private async echo(sequences: number[][], maxTokens: 0 | 1): Promise<(number | null)[][]> {
    const body = { model: this.servedModel, prompt: sequences.length === 1 ? sequences[0] : sequences, echo: true, logprobs: 0, max_tokens: maxTokens, temperature: 0 };
    const answer = await this.send(body);
    const choices = sortedChoices(answer.choices, `scoring with ${this.servedModel}`);
    if (choices.length !== sequences.length) {
      throw new RemoteEngineError('engine_server_protocol', `the engine server answered ${choices.length} choices to ${sequences.length} scoring prompts`);
    }
    return choices.map((choice, i) => {
      const values = choice.logprobs?.token_logprobs;
      const length = sequences[i].length;
      if (!Array.isArray(values) || values.length < length || !values.slice(1, length).every((value) => typeof value === 'number')) {
        throw new RemoteEngineError('engine_server_protocol', `the engine server did not echo ${length} prompt log-probabilities for a scoring prompt (got ${Array.isArray(values) ? values.length : 'none'})`);
      }
      return values.slice(0, length) as (number | null)[];
    });
  }

  private async send(body: Record<string, unknown>, signal?: AbortSignal): Promise<{ choices?: Choice[] }> {
    let answer;
    try {
      answer = await this.connection.post<{ choices?: Choice[] }>('/completions', body, { signal });
    } catch (error) {
      // As the local engine ends an aborted turn; the server frees its rows when the connection closes.
      if (signal?.aborted) throw new DecodeAbortedError(signal.reason);
      throw error;
    }
    this.stats.requests++;
    this.stats.serverMs += answer.processingMs ?? 0;
    return answer.body;
  }

  async dispose(): Promise<void> {
    // Nothing is held here: the model lives on the server.
  }
}

function sortedChoices(choices: Choice[] | undefined, what: string): Choice[] {
  if (!Array.isArray(choices) || choices.length === 0) throw new RemoteEngineError('engine_server_protocol', `the engine server answered ${what} without choices`);
  return [...choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
}

/** Ids from vLLM's `token_id:N` token strings; undefined when the server sent token text instead. */
function tokenIds(tokens: unknown[] | undefined): number[] | undefined {
  if (!Array.isArray(tokens)) return undefined;
  const ids: number[] = [];
  for (const token of tokens) {
    const match = typeof token === 'string' ? /^token_id:(\d+)$/.exec(token) : null;
    if (!match) return undefined;
    ids.push(Number(match[1]));
  }
  return ids;
}

/** The `top` most likely tokens at each position, from `{ "token_id:N": logprob }` objects. */
function topLogprobsOf(positions: unknown[] | undefined, top: number): TokenLogprob[][] {
  return (positions ?? []).map((entry) => {
    const pairs = Object.entries((entry ?? {}) as Record<string, number>).flatMap(([key, logprob]) => {
      const match = /^token_id:(\d+)$/.exec(key);
      return match ? [[Number(match[1]), logprob] as TokenLogprob] : [];
    });
    return pairs.sort((a, b) => b[1] - a[1]).slice(0, top);
  });
}
