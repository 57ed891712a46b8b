/**
 * `banter/testing`: helpers for testing plugins and adapters against real parts — a turn to hand a
 * hook, and a real bot (the shipped model unless told otherwise, in-memory history, no adapters,
 * quiet logs) to run messages through.
 */
import { join } from 'node:path';
import { createBot, type Bot, type BotOptions } from '../bot.js';
import { loadConfig } from '../config/load.js';
import { packageRoot } from '../config/package-root.js';
import type { BotConfig } from '../config/types.js';
import type { DecodeOptions } from '../engine/types.js';
import type { Preset, Turn } from '../types.js';

/** The shipped forward model, so tests run the real engine without fixtures of their own. */
export function shippedModel(): string {
  return join(packageRoot(), 'models', 'banter-chat');
}

const PLAIN_PRESET: Preset = { name: 'default', persona: [], greeting: [], knowledge: [], decoding: {}, plugins: {}, selection: { weights: {} } };

const DECODING: DecodeOptions = {
  strategy: 'sample',
  numCandidates: 4,
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  repetitionPenalty: 1,
  noRepeatNgramSize: 3,
  minNewTokens: 1,
  maxNewTokens: 24,
  beamWidth: 4,
  lengthPenalty: 1,
};

/** A turn for a plugin hook: a user message in a fresh conversation, overridable field by field. */
export function makeTurn(overrides: Partial<Turn> & { text?: string } = {}): Turn {
  const { text = 'Hello!', ...rest } = overrides;
  const message = { platform: 'test', channel: 'test', user: { id: 'tester' }, text };
  return {
    id: 'test-turn',
    message,
    conversation: { key: 'test:test', preset: 'default', history: [], state: {} },
    preset: PLAIN_PRESET,
    decoding: DECODING,
    prompt: { persona: [], knowledge: [], history: [{ role: 'user', text, at: 0 }] },
    promptTokens: [],
    promptText: '',
    evidence: [],
    candidates: [],
    chosen: -1,
    trace: [],
    data: {},
    ...rest,
  };
}

export type TestBotOverrides = { [K in keyof BotConfig]?: BotConfig[K] extends object ? Partial<BotConfig[K]> : BotConfig[K] };

/**
 * A real bot on the shipped default config with in-memory history, no adapters, no plugins (name
 * yours in `overrides.plugins` or pass them as objects in `options.plugins`) and silent logs.
 * `overrides` replace fields of whole top-level sections (`{ decoding: { numCandidates: 2 } }`);
 * relative paths in them (a plugin `./my-plugin.js`) are relative to `dir`, the working folder by default.
 */
export async function createTestBot(overrides: TestBotOverrides = {}, options: BotOptions & { dir?: string } = {}): Promise<Bot> {
  const loaded = { ...(await loadConfig()), dir: options.dir ?? process.cwd() };
  // The built-in presets only, unless overrides name folders (relative to `dir`).
  loaded.config.presets = { ...loaded.config.presets, dirs: [] };
  const config = loaded.config as unknown as Record<string, unknown>;
  config.engine = { ...loaded.config.engine, model: shippedModel() };
  config.history = { ...loaded.config.history, store: 'memory://' };
  config.adapters = {};
  config.plugins = {};
  config.log = { level: 'silent' };
  for (const [section, value] of Object.entries(overrides)) {
    const current = config[section];
    config[section] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' ? { ...(current as object), ...(value as object) } : value;
  }
  return createBot(loaded, options);
}
