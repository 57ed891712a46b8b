/** Messages between a WorkerDialogueEngine (the bot's thread) and its engine worker (engine-worker.ts). */
import type { RawCandidate } from '../decode.js';
import type { DecoderGraph } from '../decoder.js';
import type { EngineDevice } from '../errors.js';
import type { DecodeOptions, EngineOptions, GeneratedToken, ModelInfo, ScorePair, TokenScores } from '../types.js';

/** What the worker needs to load the engine: the options that can cross a thread (no callbacks). */
export interface WorkerData {
  modelDir: string;
  options: Omit<EngineOptions, 'onProgress' | 'thread'>;
}

export type ToWorker =
  | { type: 'generate'; id: number; prompt: number[]; options: DecodeOptions; streamTokens: boolean }
  | { type: 'score'; id: number; pairs: ScorePair[]; top: number }
  | { type: 'abort'; id: number }
  | { type: 'dispose' };

/** An error as it crosses the thread: its class name, BanterError code and message. */
export interface SentError {
  name: string;
  code?: string;
  message: string;
}

export type FromWorker =
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'ready'; info: ModelInfo; device: EngineDevice; graph: DecoderGraph }
  | { type: 'load-failed'; error: SentError }
  | { type: 'tokens'; id: number; tokens: GeneratedToken[] }
  | { type: 'generated'; id: number; candidates: RawCandidate[] }
  | { type: 'scored'; id: number; scores: TokenScores[] }
  | { type: 'failed'; id: number; error: SentError };
