/** Contracts of the dialogue engine: a decoder-only model in a Hugging Face folder, run by onnxruntime-node. */
import type { HistoryTurn, PromptParts } from '../types.js';
import type { ModelDtype } from './dtype.js';
import type { DtypeChoice } from './model-folder.js';
import type { ChatMessage, EncodedPrompt } from './prompt/types.js';

export type { ChatMessage, EncodedPrompt } from './prompt/types.js';
export type { ModelDtype } from './dtype.js';

export interface DecodeOptions {
  /** `sample`: temperature/top-k/top-p sampling; `greedy`: argmax; `beam`: beam search. */
  strategy: 'sample' | 'greedy' | 'beam';
  /** Candidates to return (beam: the best `numCandidates` beams, at most `beamWidth`). */
  numCandidates: number;
  temperature: number;
  /** 0 disables. */
  topK: number;
  /** 1 disables. */
  topP: number;
  /** 1 disables (CTRL-style: divide positive logits, multiply negative ones, for seen tokens). */
  repetitionPenalty: number;
  /** 0 disables: no n-gram of this size is generated twice within a candidate. */
  noRepeatNgramSize: number;
  minNewTokens: number;
  maxNewTokens: number;
  /** Seed of the sampler; the same seed, prompt and options give the same candidates. */
  seed?: number;
  beamWidth: number;
  /** Beam score = sum logprob / length ** lengthPenalty. */
  lengthPenalty: number;
  /** Also report, per generated token, this many most likely tokens of the raw distribution (default 0: none). */
  topLogprobs?: number;
}

/** A token and its log-probability under the model's raw distribution. */
export type TokenLogprob = [token: number, logprob: number];

/**
 * What a caller will use that an engine may lack: a remote engine's server may not score
 * (echo + logprobs) or run beam search. A local engine has them all.
 */
export type EngineFeature = 'score' | 'beam';

export interface EngineOptions {
  /**
   * Where the model runs: `cpu`; `webgpu` (Dawn on Vulkan: NVIDIA, AMD and Intel GPUs);
   * `cuda` (needs onnxruntime-node's CUDA binaries); `auto` tries cuda, then webgpu, then cpu.
   */
  device: 'cpu' | 'webgpu' | 'cuda' | 'auto';
  /** When the asked device is unavailable: run on the CPU (default) or fail at start. */
  fallback?: 'cpu' | 'fail';
  /** Which ONNX file of the folder runs (transformers.js' names); `auto` (default) picks by device. */
  dtype?: DtypeChoice;
  intraOpThreads?: number;
  interOpThreads?: number;
  /**
   * Whether onnxruntime's idle worker threads busy-wait for the next op (default false). Spinning
   * burns the cores between ops, which a bot shares with its adapters and a busy machine with
   * other work: measured on 2 shared cores, turning it off made the 124M model's steps ~1.6x faster.
   */
  spinning?: boolean;
  /** Rows (candidates of all turns in flight) one decode step may hold (default 64). */
  maxBatchRows?: number;
  /** Prompt tokens per prefill pass, so a long prompt cannot stall the turns already decoding (default 256). */
  prefillChunk?: number;
  /**
   * Where the model runs: `main` (default), the calling thread; `worker`, a worker thread of its
   * own, so that forward passes (synchronous in onnxruntime-node) never stall the caller's event loop.
   */
  thread?: 'main' | 'worker';
  /** Progress while loading (read, tokenizer, session). */
  onProgress?: (message: string, fraction?: number) => void;
  /** Features the caller will use: loading fails with a clear error when the engine lacks one (a remote server). */
  requires?: EngineFeature[];
}

export interface GeneratedCandidate {
  text: string;
  tokens: number[];
  /** Summed log-probability of the generated tokens under the model's raw distribution (no temperature or penalties). */
  logprob: number;
  avgLogprob: number;
  /** Whether the candidate ended with the end token (false: cut by maxNewTokens). */
  finished: boolean;
  /** The end token it stopped at, when `finished` (a chat model may have several). */
  endToken?: number;
  /** Each generated token's raw log-probability, then the end token's when `finished` (they sum to `logprob`). */
  tokenLogprobs: number[];
  /** With `topLogprobs`: the most likely tokens at each position of `tokenLogprobs`, most likely first. */
  topLogprobs?: TokenLogprob[][];
}

export interface GenerateControl {
  signal?: AbortSignal;
  /**
   * Called with each token as it is chosen (sampling and greedy decoding; beam search, whose
   * beams change until the end, calls nothing). The end token is not reported.
   */
  onToken?: (token: GeneratedToken) => void;
}

export interface GeneratedToken {
  /** Which candidate it extends (0 to numCandidates - 1). */
  candidate: number;
  token: number;
  /** Its log-probability under the model's raw distribution (as summed into the candidate's logprob). */
  logprob: number;
}

export interface ScorePair {
  context: number[];
  continuation: number[];
}

/** log p of each continuation token of a scored pair (they sum to its score), with the most likely tokens when asked. */
export interface TokenScores {
  logprobs: number[];
  top?: TokenLogprob[][];
}

/**
 * How a model formats a dialogue, declared in the model folder (`dialogue_format.json`), never
 * hard-coded. Templates use `{text}`. Each rendered segment is tokenized and concatenated.
 * DialoGPT: user = bot = "{text}<|endoftext|>", responsePrefix = "", end = "<|endoftext|>".
 */
export interface DialogueFormat {
  /** Rendered once per persona line; absent: persona lines become a leading bot turn. */
  persona?: string;
  /** Rendered once per knowledge snippet; absent: knowledge is dropped. */
  knowledge?: string;
  /**
   * Where knowledge goes: after the persona, before the history (default), or right before the
   * response prefix, next to the turn that uses it (how banter's own models were trained).
   */
  knowledgePlacement?: 'before-history' | 'before-response';
  user: string;
  bot: string;
  /** Appended after the history: what the model continues from to write the bot's reply. */
  responsePrefix: string;
  /** The token that ends a reply. */
  end: string;
  /** `backward` models (MMI) read turns in reverse order: p(source | response). */
  direction?: 'forward' | 'backward';
  /** Optional text placed first (e.g. a direction token for a two-way model). */
  prefix?: string;
}

export interface ModelInfo {
  name: string;
  path: string;
  modelType: string;
  layers: number;
  heads: number;
  /** Key/value heads (fewer than `heads` with grouped-query attention). */
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocabSize: number;
  /** Maximum sequence length. */
  contextWindow: number;
  /** The dtype of the ONNX file that runs, and that file (on an engine server: its URL and model; `unknown` when it does not say). */
  dtype: ModelDtype | 'unknown';
  file: string;
  /** Tokens that end a reply. */
  endTokens: number[];
  /** Put before an empty scoring context, so that the first continuation token has a predictor. */
  bosToken: number;
  /** How prompts are written: the folder's chat template, or its dialogue_format.json. */
  promptFormat: 'chat-template' | 'dialogue-format';
  /** Default decoding options from generation_config.json. */
  generation: Partial<DecodeOptions>;
}

export interface TextTokenizer {
  /** Token ids of plain text: special-token strings in it stay characters. */
  encode(text: string): number[];
  /** Token ids of markup, where special tokens written in it (`<|user|>`) become their ids. */
  encodeMarkup(text: string): number[];
  /** Token ids of markup and plain parts joined, exactly as the whole string tokenizes, but special tokens only from markup. */
  encodeParts(parts: readonly { text: string; plain: boolean }[]): number[];
  /** Text of the ids; special tokens are dropped unless `keepSpecial`. */
  decode(ids: number[], options?: { keepSpecial?: boolean }): string;
  tokenId(token: string): number | undefined;
}

export interface DialogueEngine {
  readonly info: ModelInfo;
  readonly tokenizer: TextTokenizer;
  /** `backward` models (MMI) read turns in reverse order: p(source | response). */
  readonly direction: 'forward' | 'backward';
  /** The folder's dialogue_format.json, for models that declare one (undefined with a chat template). */
  readonly format?: DialogueFormat;
  /**
   * Encodes persona, knowledge and history in the model's format (chat template or dialogue format),
   * followed by what makes it write the bot's reply. Drops the oldest history turns (then knowledge,
   * then persona) so that the prompt plus `reserve` new tokens fits the context window; returns what was kept.
   */
  encodeDialogue(parts: PromptParts, reserve: number): EncodedPrompt;
  /** Encodes turns (in the order given) in the model's format, without response prefix. */
  encodeTurns(turns: Pick<HistoryTurn, 'role' | 'text'>[]): number[];
  /** Encodes chat messages (system, user, assistant) in the model's format, e.g. for a judge prompt. */
  encodeMessages(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): number[];
  /**
   * Prefills the prompt once, then decodes all candidates in one batch sharing its cache; turns
   * generating at the same time decode together (continuous batching). An aborted signal ends the
   * turn's decoding with a DecodeAbortedError.
   */
  generate(prompt: number[], options: DecodeOptions, control?: GenerateControl): Promise<GeneratedCandidate[]>;
  /** log p(continuation | context) for each pair, in batched forward passes. */
  score(pairs: ScorePair[]): Promise<number[]>;
  /** Features this engine cannot serve, each with why (a remote server that lacks them); absent: none. */
  readonly missing?: ReadonlyMap<EngineFeature, string>;
  dispose(): Promise<void>;
}
