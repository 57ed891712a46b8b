/**
 * A real bot for tests: the shipped default config on the fixture model, in-memory history, quiet
 * logs, and no plugins or adapters unless a test names them.
 */
import { resolve } from 'node:path';
import { createBot, type Bot, type BotOptions } from '../../core/bot.js';
import { loadConfig } from '../../core/config/index.js';
import type { BotConfig } from '../../core/config/types.js';

export const FIXTURE_MODEL = resolve(import.meta.dirname, '../fixtures/tiny-gpt2');

export type ConfigOverrides = { [K in keyof BotConfig]?: BotConfig[K] extends object ? Partial<BotConfig[K]> : BotConfig[K] };

/** Builds a bot; `overrides` replace whole top-level sections' fields (shallow per section). */
export async function makeTestBot(overrides: ConfigOverrides = {}, options: BotOptions = {}): Promise<Bot> {
  const loaded = await loadConfig();
  const config = loaded.config as unknown as Record<string, unknown>;
  config.engine = { ...loaded.config.engine, model: FIXTURE_MODEL };
  config.history = { ...loaded.config.history, store: 'memory://' };
  config.adapters = {};
  config.plugins = {};
  config.log = { level: 'silent' };
  for (const [section, value] of Object.entries(overrides)) {
    const current = config[section];
    config[section] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? { ...(current as object), ...(value as object) }
        : value;
  }
  return createBot(loaded, options);
}
