/** The bot config, after validation against its declarations (sections.ts) and defaults applied. */
import type { Static } from '@sinclair/typebox';
import type { EnvOrigins } from './errors.js';
import type { BotConfigSchema, EngineSection, FeedbackSection, HistorySection, PresetsSection, SelectionSection } from './sections.js';

// Each section's type comes from its declaration in sections.ts (with its schema and defaults).
export type EngineConfig = Static<typeof EngineSection>;
export type HistoryConfig = Static<typeof HistorySection>;
export type FeedbackConfig = Static<typeof FeedbackSection>;
export type SelectionConfig = Static<typeof SelectionSection>;
export type PresetsConfig = Static<typeof PresetsSection>;

/** The bot config: `engine`, `decoding` (the engine's DecodeOptions), `admission` (core/admission's AdmissionConfig), ... */
export type BotConfig = Omit<Static<typeof BotConfigSchema>, '$schema'>;

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
