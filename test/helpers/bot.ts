/**
 * A real bot for tests: banter/testing's test bot on the fixture model (fast), in-memory history,
 * quiet logs, and no plugins or adapters unless a test names them.
 */
import { resolve } from 'node:path';
import type { Bot, BotOptions } from '../../core/bot.js';
import { createTestBot, fixtureModel, type TestBotOverrides } from '../../core/testing/index.js';

export const FIXTURE_MODEL = fixtureModel();

export type ConfigOverrides = TestBotOverrides;

/** Presets overrides routing every conversation to a preset with no persona and no greeting. */
export const PLAIN_PRESETS: ConfigOverrides['presets'] = { dirs: [resolve(import.meta.dirname, '../fixtures/presets-plain')], default: 'plain', routes: {} };

/** Builds a bot; `overrides` replace whole top-level sections' fields (shallow per section). */
export function makeTestBot(overrides: ConfigOverrides = {}, options: BotOptions = {}): Promise<Bot> {
  return createTestBot({ ...overrides, engine: { model: FIXTURE_MODEL, ...overrides.engine } }, options);
}
