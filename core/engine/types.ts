/** Contracts of the dialogue engine: a GPT-2-family model in a Hugging Face folder, run by onnxruntime-node. */
import type { HistoryTurn, PromptParts } from '../types.js';

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
}

export interface EngineOptions {
  /** `cuda` needs onnxruntime-node installed with CUDA binaries. */
  device: 'cpu' | 'cuda';
  /** When CUDA is asked for but unavailable: fall back to CPU (true) or fail at start (false). */
  cudaFallback: boolean;
  intraOpThreads?: number;
  interOpThreads?: number;
  /**
   * Whether onnxruntime's idle worker threads busy-wait for the next op (default false). Spinning
   * burns the cores between ops, which a bot shares with its adapters and a busy machine with
   * other work: measured on 2 shared cores, turning it off made the 124M model's steps ~1.6x faster.
   */
  spinning?: boolean;
  /** Progress while loading (read, tokenizer, session). */
  onProgress?: (message: string, fraction?: number) => void;
}

export interface GeneratedCandidate {
  text: string;
  tokens: number[];
  /** Summed log-probability of the generated tokens (after temperature? no: under the model's raw distribution). */
  logprob: number;
  avgLogprob: number;
  /** Whether the candidate ended with the end token (false: cut by maxNewTokens). */
  finished: boolean;
}

export interface ScorePair {
  context: number[];
  continuation: number[];
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
  hidden: number;
  vocabSize: number;
  /** Maximum sequence length (n_positions). */
  contextWindow: number;
  /** Default decoding options from generation_config.json. */
  generation: Partial<DecodeOptions>;
}

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  tokenId(token: string): number | undefined;
}

export interface DialogueEngine {
  readonly info: ModelInfo;
  readonly tokenizer: TextTokenizer;
  readonly format: DialogueFormat;
  /**
   * Encodes persona, knowledge and history in the model's declared format, followed by the
   * response prefix. Drops the oldest history turns (then knowledge, then persona) so that
   * the prompt plus `reserve` new tokens fits the context window; returns what was kept.
   */
  encodeDialogue(parts: PromptParts, reserve: number): { tokens: number[]; kept: PromptParts };
  /** Encodes turns (in the order given) in the model's format, without response prefix. */
  encodeTurns(turns: Pick<HistoryTurn, 'role' | 'text'>[]): number[];
  /** Prefill the prompt once, then decode all candidates in one batch sharing its cache. */
  generate(prompt: number[], options: DecodeOptions): Promise<GeneratedCandidate[]>;
  /** log p(continuation | context) for each pair, in batched forward passes. */
  score(pairs: ScorePair[]): Promise<number[]>;
  dispose(): Promise<void>;
}
