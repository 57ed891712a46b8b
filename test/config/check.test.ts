/**
 * `banter config check` loads what `banter start` loads and reports every problem at once; `start`
 * (Bot.create, then start) fails with the same messages.
 */
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBot } from '../../core/bot.js';
import { checkConfig } from '../../core/check.js';
import { ConfigError } from '../../core/config/errors.js';
import { loadConfig } from '../../core/config/load.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let count = 0;
async function config(yaml: string): Promise<string> {
  const file = join(dir, `bot-${++count}.yaml`);
  await writeFile(file, `log: { level: silent }\n${yaml}`);
  return file;
}

/** The problems `config check` reports about this file, and those a start reports: the same. */
async function problemsOf(file: string): Promise<string[]> {
  const checked = (await checkConfig(file)).map((problem) => problem.message);
  let started: string[] = [];
  try {
    const bot = await createBot(await loadConfig(file));
    try {
      await bot.start();
    } finally {
      await bot.stop();
    }
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    started = (error as ConfigError).problems.map((problem) => problem.message);
  }
  expect(started).toEqual(checked);
  return checked;
}

const model = `engine: { model: ${JSON.stringify(FIXTURE_MODEL)} }\n`;

describe('config check', () => {
  test('says nothing about a good config', async () => {
    expect(await checkConfig(await config(`${model}plugins: { persona: {} }\nadapters: { web: { port: 0 } }\n`))).toEqual([]);
  });

  test('reports unknown plugins and adapters, their config sections and a negative port, all at once', async () => {
    const file = await config(`${model}plugins: { personna: {}, mmi: { lastTurns: 0 } }\nadapters: { telegram: {}, web: { port: -1 } }\n`);
    const problems = await problemsOf(file);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${file}: /adapters/telegram: Cannot load adapter "telegram"`)));
    expect(problems).toContainEqual(`${file}: /adapters/web/port: expected a number >= 0, got -1`);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${file}: /plugins/personna: Cannot load plugin "personna"`)));
    expect(problems).toContainEqual(`${file}: /plugins/mmi/lastTurns: expected a number >= 1, got 0`);
  });

  test('reports an unknown safety option', async () => {
    const problems = await problemsOf(await config(`${model}plugins: { safety: { strictness: 11 } }\n`));
    expect(problems).toContainEqual(expect.stringMatching(/\/plugins\/safety\/strictness: .*unknown property/));
  });

  test('reports mmi pointed at a forward model (the dialogue_format direction)', async () => {
    const problems = await problemsOf(await config(`${model}plugins: { mmi: { model: ${JSON.stringify(FIXTURE_MODEL)} } }\n`));
    expect(problems).toContainEqual(expect.stringMatching(/\/plugins\/mmi: .*MMI needs a backward one/));
  });

  test('reports a maxNewTokens that cannot fit the context window, in the config and in a preset', async () => {
    await writeFile(join(dir, 'long.yaml'), 'name: long\ndecoding: { maxNewTokens: 400 }\n');
    const file = await config(`${model}decoding: { maxNewTokens: 1000000 }\npresets: { dirs: ['.'] }\n`);
    const problems = await problemsOf(file);
    const window = JSON.parse(await readFile(join(FIXTURE_MODEL, 'config.json'), 'utf8')).n_positions as number;
    expect(problems).toContainEqual(`${file}: /decoding/maxNewTokens: expected at most what leaves room for a message in the model's ${window}-token context window, got 1000000`);
    expect(problems).toContainEqual(`${join(dir, 'long.yaml')}: /decoding/maxNewTokens: expected at most what leaves room for a message in the model's ${window}-token context window, got 400`);
  });

  test('reports a truncated ONNX graph and a truncated weights file by creating the session', async () => {
    // The fixture has banter's slot-cache graph (used when present) and the standard graph with external weights.
    const cases = [
      { file: 'onnx/decoder_slot_cache.onnx', without: undefined },
      { file: 'onnx/model.onnx', without: 'onnx/decoder_slot_cache.onnx' },
      { file: 'onnx/model.onnx_data', without: 'onnx/decoder_slot_cache.onnx' },
    ];
    for (const { file, without } of cases) {
      const broken = join(dir, `model-${file.replace(/\W/g, '-')}`);
      await cp(FIXTURE_MODEL, broken, { recursive: true });
      if (without) await rm(join(broken, without));
      await truncate(join(broken, file), 1000);
      const yaml = await config(`engine: { model: ${JSON.stringify(broken)} }\n`);
      const problems = await problemsOf(yaml);
      expect(problems, file).toContainEqual(expect.stringMatching(new RegExp(`^${yaml}: /engine/model: cannot load the model ${broken}: `)));
    }
  });

  test('names the file of a YAML alias bomb', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const file = await config(`${model}${levels.join('\n')}\n`);
    const [problem] = await checkConfig(file);
    expect(problem.message).toMatch(new RegExp(`^${file}: YAML error: .*alias`, 'i'));
  });
});
