/**
 * banter's public API: everything a plugin, an adapter or a program embedding a bot needs. Built-in
 * plugins and adapters import from here only (never from core's inner modules), so a third-party
 * plugin can do what they do. The engine on its own is `banter/engine`; test helpers `banter/testing`.
 */
export { Bot, createBot, type BotOptions } from './bot.js';
export { Admission, DEFAULT_ADMISSION, mergeAdmission, MemoryAdmissionState, type AdmissionConfig, type AdmissionOverrides, type AdmissionState, type AdmissionSubject, type Admitted, type OverflowPolicy, type Refusal } from './admission/index.js';
export {
  FencedWriteError,
  LockWaitError,
  openRedisCoordination,
  RedisAdmissionState,
  type Coordination,
  type CoordinationConfig,
  type TurnLock,
  type WriteFence,
} from './coordination/index.js';
export { builtinCommands, parseCommand } from './commands.js';
export { BanterError, PluginError } from './errors.js';
export { EventBus } from './events.js';
export { createLogger, type Logger } from './log.js';
export { KeyedSerialQueue, Semaphore } from './queue.js';
export { declaredScores, selectCandidate, weightedTotal } from './selection.js';
export { PresetSettings } from './preset-settings.js';
export { createEngineServer, startEngineServer, type EngineServer, type ServeOptions } from './serve/index.js';
export { cleanText } from './text.js';
export { installProcessGuards, type ProcessGuardOptions } from './process-guards.js';
export { conversationKey, openHistoryStore, trimHistory, type HistoryStore } from './history/index.js';
export {
  ConfigError,
  defaultConfigFile,
  loadConfig,
  loadPresets,
  packageRoot,
  validatePluginConfig,
  type ConfigErrorDetails,
  type LoadConfigOptions,
} from './config/index.js';
export { readConfigFile } from './config/parse.js';
// Declaring a plugin's or adapter's config section once, as core declares its own (core/config/declare.ts).
export { Type, type Static, type TSchema } from '@sinclair/typebox';
export { applyDefaults, Enum, publishedSchema, StringMap } from './config/declare.js';
export * from './types.js';
export type * from './config/types.js';
export type * from './engine/types.js';
export { ThrottledWriter, type StreamTarget } from './stream-writer.js';
export * from './adapter-kit/index.js';
export { PairClassifier, ClassifierFolderError, type PairClassifierOptions, type PairInput } from './classifier/pair-classifier.js';
export { FEEDBACK_MESSAGES, openFeedbackStore, type CandidateRecord, preferencePairs, pairsJsonl, tuneSelection, type FeedbackEntry, type FeedbackStore, type TurnRecord } from './feedback/index.js';
