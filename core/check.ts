/**
 * `banter config check`: everything `banter start` would load, loaded and then let go — the config
 * and its presets, the model (its ONNX session is created), every plugin (set up, so an MMI model
 * that reads forward is caught) and adapter (name and config) — with every problem listed.
 */
import { createBot } from './bot.js';
import { ConfigError, loadConfig } from './config/index.js';
import { createLogger } from './log.js';

/** Every problem a start of this config would hit; an empty list means it is good to run. */
export async function checkConfig(file?: string): Promise<ConfigError[]> {
  try {
    const loaded = await loadConfig(file);
    const bot = await createBot(loaded, { checkOnly: true, logger: createLogger('silent') });
    await bot.stop();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
