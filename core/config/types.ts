/** The bot config, after validation against config/bot.schema.json and defaults applied. */
import type { EnvOrigins } from './errors.js';
import type { DecodeOptions } from '../engine/types.js';
import type { AdmissionConfig } from '../admission/admission.js';
import type { CoordinationConfig } from '../coordination/types.js';

export interface EngineConfig {
  /** Model folder (Hugging Face layout), relative to the config file. With `url`: the served model's tokenizer and configs. */
  model: string;
  /** An OpenAI-compatible engine server that runs the models (e.g. http://gpu-box:8000/v1). */
  url?: string;
  /** Bearer token for the engine server (from `${ENV_VAR}`). */
  apiKey?: string;
  /** The server's id for `model`; default: the one named like the folder, or the only one. */
  servedModel?: string;
  /** Longest wait for one engine server answer. */
  timeoutMs: number;
  /** How long calls are re-sent while the engine server is unreachable. */
  retryForMs: number;
  device: 'cpu' | 'webgpu' | 'cuda' | 'auto';
  /** When the device is unavailable: CPU (default) or fail at start. Set from the deprecated `cudaFallback` too. */
  fallback: 'cpu' | 'fail';
  /** Deprecated spelling of `fallback`, still read. */
  cudaFallback?: boolean;
  dtype: 'auto' | 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';
  intraOpThreads?: number;
  interOpThreads?: number;
  /** Where the models run: a worker thread each (default) or the bot's own thread. */
  thread: 'worker' | 'main';
  /** How many generations may run at once across all conversations. */
  maxConcurrentGenerations: number;
  /** Rows one decode step may hold (continuous batching across turns). */
  maxBatchRows: number;
  /** Prompt tokens per prefill pass. */
  prefillChunk: number;
}

export interface HistoryConfig {
  /** `memory://`, `file://PATH` (relative to the config file), `redis://HOST:PORT[/DB]`. */
  store: string;
  maxTurns: number;
  maxTokens: number;
}

export interface FeedbackConfig {
  /** Offer 👍/👎 on replies and record them (with the turn's trace) in the feedback store. */
  enabled: boolean;
  /** Feedback store URL (`memory://`, `sqlite://PATH`, `file://PATH`, `redis://...`); unset: the history store's. */
  store?: string;
  /** Ratings (each with its turn's trace) are deleted this many days after they were given. */
  retentionDays: number;
  /** How long after it was sent a reply can be rated; its trace is kept that long for it. */
  rateWithinDays: number;
  /** Store keyed pseudonyms (HMAC-SHA256 with a key kept in the store) instead of platform user ids. */
  hashUserIds: boolean;
  /** Longest reason kept, in characters (longer ones are cut). */
  maxReasonLength: number;
}

export interface SelectionConfig {
  /** Weighted sum of candidate scores: `avgLogprob`, `logprob`, and plugin scores by name. */
  weights: Record<string, number>;
  /** Said when no candidate survives the filters. */
  fallback: string;
}

export interface PresetsConfig {
  /** Folders holding preset files (YAML/JSON), relative to the config file; later folders win. */
  dirs: string[];
  default: string;
  /** Conversation key prefix (`discord:123`, `slack:C1`, `web`) -> preset name. Longest prefix wins. */
  routes: Record<string, string>;
}

export interface BotConfig {
  name: string;
  engine: EngineConfig;
  decoding: DecodeOptions;
  history: HistoryConfig;
  selection: SelectionConfig;
  feedback: FeedbackConfig;
  presets: PresetsConfig;
  /** Plugin name (built-in, or a module path) -> its config; `false` disables. Order is pipeline order. */
  plugins: Record<string, unknown>;
  /** Adapter name -> its config; `false` disables. Secrets come in as `${ENV_VAR}`. */
  adapters: Record<string, unknown>;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** Longest accepted message, in characters; longer ones get a polite refusal. */
  maxMessageLength: number;
  /** Caps on waiting turns and rate limits (see core/admission). */
  admission: AdmissionConfig;
  /** Several workers on one Redis: conversation locks, shared admission counts, event dedupe (see core/coordination). */
  coordination: CoordinationConfig;
}

/** A loaded config: the values plus where they came from, for relative paths and messages. */
export interface LoadedConfig {
  config: BotConfig;
  /** Absolute path of the file, or undefined for the embedded default. */
  file?: string;
  /** Folder relative paths resolve against. */
  dir: string;
  /** Problems worth a log line that do not stop the bot (a secret written as a literal). */
  warnings?: string[];
  /** Which values came from environment variables: errors name the variable, never the value. */
  origins?: EnvOrigins;
}
