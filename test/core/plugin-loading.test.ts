/** Plugins named in config by path get their own config section, and load failures say what failed. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/index.js';
import { makeTestBot } from '../helpers/bot.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-plugins-'));
  // A plugin whose name differs from its file name, with a required option.
  await writeFile(
    join(dir, 'brevity.mjs'),
    `export default () => {
       let ideal;
       return {
         name: 'brevity-scorer',
         configSchema: { type: 'object', required: ['ideal'], properties: { ideal: { type: 'integer', minimum: 1 } }, additionalProperties: false },
         setup(bot, config) { ideal = config.ideal; },
         score(turn) { for (const c of turn.candidates) c.scores.brevity = -Math.abs(c.tokens.length - ideal); },
       };
     };`,
  );
  await writeFile(join(dir, 'broken.mjs'), `import 'a-package-nobody-installed'; export default () => ({ name: 'broken' });`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** makeTestBot resolves plugin paths against the shipped config's folder: give absolute paths. */
const at = (file: string) => join(dir, file);

describe('plugins loaded by path', () => {
  it('get the config written under their path, not under the name they give themselves', async () => {
    const bot = await makeTestBot({ plugins: { [at('brevity.mjs')]: { ideal: 3 } }, decoding: { numCandidates: 3, maxNewTokens: 6 } });
    const scores: number[] = [];
    bot.events.on('candidates', ({ turn }) => scores.push(...turn.candidates.map((c) => c.scores.brevity)));
    await bot.handle({ platform: 'test', channel: 'c', user: { id: 'u' }, text: 'Hello' });
    expect(scores).toHaveLength(3);
    for (const score of scores) expect(score).toBeLessThanOrEqual(0);
    await bot.stop();
  });

  it('report a missing required option at the path the user wrote', async () => {
    const error = await makeTestBot({ plugins: { [at('brevity.mjs')]: {} } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`/plugins/${at('brevity.mjs').replaceAll('/', '~1')}/ideal`);
  });

  it('that exist but fail to import say why, naming the missing package', async () => {
    const error = await makeTestBot({ plugins: { [at('broken.mjs')]: {} } }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('failed to load');
    expect((error as Error).message).toContain('a-package-nobody-installed');
    expect((error as Error).message).not.toContain('no module at');
  });

  it('that are not there are reported as missing', async () => {
    const missingFile = await makeTestBot({ plugins: { [at('nothing.mjs')]: {} } }).catch((e: unknown) => e);
    expect((missingFile as Error).message).toContain(`no module at ${at('nothing.mjs')}`);
    const missingPackage = await makeTestBot({ plugins: { 'banter-plugin-nobody-wrote': {} } }).catch((e: unknown) => e);
    expect((missingPackage as Error).message).toContain('no installed package "banter-plugin-nobody-wrote"');
  });
});

describe('selection weights', () => {
  it('that name no declared score are a config error with a suggestion', async () => {
    const error = await makeTestBot({ plugins: { mmi: {} }, selection: { weights: { avgLogprob: 1, mmmi: 1 } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('/selection/weights/mmmi');
    expect((error as Error).message).toContain('did you mean "mmi"?');
  });

  it('accept a declared family of scores and the plugins’ defaults', async () => {
    const bot = await makeTestBot({ plugins: { safety: {}, mmi: {} }, selection: { weights: { avgLogprob: 1, 'safety.threat': -1 } }, decoding: { numCandidates: 2, maxNewTokens: 4 } });
    const totals: number[] = [];
    bot.events.on('candidates', ({ turn }) => totals.push(...turn.candidates.map((c) => c.scores.mmi)));
    await bot.handle({ platform: 'test', channel: 'w', user: { id: 'u' }, text: 'Hello' });
    expect(totals.every(Number.isFinite)).toBe(true);
    await bot.stop();
  });
});

describe('a failing plugin', () => {
  const failing = (optionalScores: boolean) => ({
    name: 'flaky',
    scores: { flaky: 1 },
    optionalScores,
    score(turn: { candidates: { scores: Record<string, number> }[] }) {
      turn.candidates[0].scores.flaky = 1;
      throw new Error('scorer exploded');
    },
  });

  it('is named with its stage in the log, and the user gets the apology', async () => {
    const logged: Record<string, unknown>[] = [];
    const logger = { error: (fields: Record<string, unknown>) => logged.push(fields), warn() {}, info() {}, debug() {}, child() { return logger; } };
    const bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 4 } }, { plugins: [failing(false)], logger: logger as never });
    const reply = await bot.handle({ platform: 'test', channel: 'f', user: { id: 'u' }, text: 'Hello' });
    expect(reply.kind).toBe('error');
    expect(logged.some((fields) => fields.plugin === 'flaky' && fields.stage === 'score')).toBe(true);
    await bot.stop();
  });

  it('marked optional only loses its scores', async () => {
    const bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 4 } }, { plugins: [failing(true)] });
    const seen: Record<string, number>[] = [];
    bot.events.on('candidates', ({ turn }) => seen.push(...turn.candidates.map((c) => c.scores)));
    const reply = await bot.handle({ platform: 'test', channel: 'o', user: { id: 'u' }, text: 'Hello' });
    expect(reply.kind).not.toBe('error');
    expect(seen.every((scores) => scores.flaky === undefined)).toBe(true);
    await bot.stop();
  });
});
