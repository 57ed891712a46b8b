/**
 * `banter/testing`: helpers for testing plugins and adapters against real parts — a turn to hand a
 * hook, and a real bot (the shipped model, or the tiny fixture model for speed; in-memory history, no
 * adapters, quiet logs) to run messages through.
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

/**
 * A tiny GPT-2 (0.7 MB, shipped in the package for this) that loads and generates in milliseconds: for
 * tests of plugins and adapters that need real candidates but not sensible ones.
 */
export function fixtureModel(): string {
  return join(packageRoot(), 'test', 'fixtures', 'tiny-gpt2');
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

export interface TestBotOptions extends BotOptions {
  /** Folder that relative paths in `overrides` are relative to; the working folder by default. */
  dir?: string;
  /** The model folder: `shippedModel()` by default, `fixtureModel()` for speed (or `overrides.engine.model`). */
  model?: string;
}

/**
 * A real bot on the shipped default config with in-memory history, no adapters, no plugins (name
 * yours in `overrides.plugins` or pass them as objects in `options.plugins`) and silent logs.
 * `overrides` replace fields of whole top-level sections (`{ decoding: { numCandidates: 2 } }`);
 * relative paths in them (a plugin `./my-plugin.js`) are relative to `options.dir`.
 */
export async function createTestBot(overrides: TestBotOverrides = {}, options: TestBotOptions = {}): Promise<Bot> {
  const { dir = process.cwd(), model = shippedModel(), ...botOptions } = options;
  const loaded = { ...(await loadConfig()), dir };
  // The built-in presets only, unless overrides name folders (relative to `dir`).
  loaded.config.presets = { ...loaded.config.presets, dirs: [] };
  const config = loaded.config as unknown as Record<string, unknown>;
  config.engine = { ...loaded.config.engine, model };
  config.history = { ...loaded.config.history, store: 'memory://' };
  config.adapters = {};
  config.plugins = {};
  config.log = { level: 'silent' };
  for (const [section, value] of Object.entries(overrides)) {
    const current = config[section];
    config[section] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' ? { ...(current as object), ...(value as object) } : value;
  }
  return createBot(loaded, botOptions);
}
