/**
 * `banter tune selection` recovers the weights that generated synthetic feedback (people who
 * prefer short replies), beats the current weights on held-out pairs, and, written into the
 * config, makes selection pick the short reply it should.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/index.js';
import { fitBradleyTerry, openFeedbackStore, preferencePairs, roundWeights, scoredPairs, tuneSelection, type TuneReport } from '../../core/feedback/index.js';
import { selectCandidate } from '../../core/selection.js';
import type { Candidate } from '../../core/types.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { runFeedbackCli } from './cli.js';
import { CURRENT_WEIGHTS, scoresOf, syntheticFeedback, TRUE_WEIGHTS } from './synthetic.js';

const TURNS = 6000;
/** The weights the CLI test's config file holds. */
const CURRENT_WEIGHTS_WITH_GROUNDING = { ...CURRENT_WEIGHTS, 'grounding.support': 2 };
const entries = syntheticFeedback(TURNS);

/** A long fluent reply against a short one: the current weights take the long one; people would rather have the short one. */
const choice: Candidate[] = [
  { text: 'A long reply that goes on about the mountain for twenty-five words or so.', tokens: [], logprob: 0, avgLogprob: 0, scores: scoresOf(25, -2.0, -2.5) },
  { text: 'It is 8,849 m.', tokens: [], logprob: 0, avgLogprob: 0, scores: scoresOf(4, -2.6, -3.0) },
];

function expectNear(fitted: Record<string, number>, truth: Record<string, number>, relative: number): void {
  for (const [name, value] of Object.entries(truth)) expect(Math.abs(fitted[name] - value), `${name}: fitted ${fitted[name]}, true ${value}`).toBeLessThanOrEqual(relative * Math.abs(value));
}

describe('fitting selection weights (Bradley–Terry)', () => {
  it('recovers the true weights from the pairs their ratings give', () => {
    const pairs = scoredPairs(preferencePairs(entries));
    expect(pairs).toHaveLength(TURNS);
    const report = tuneSelection(pairs, () => CURRENT_WEIGHTS, { holdout: 0.2, l2: 1 });
    expect(report.features).toEqual(['avgLogprob', 'logprob', 'mmi']);
    expect(report.fit.converged).toBe(true);
    expectNear(report.fit.weights, TRUE_WEIGHTS, 0.15);
    // The held-out accuracy of the fitted weights is that of the true ones, well above the current weights'.
    const oracle = tuneSelection(pairs, () => TRUE_WEIGHTS, { holdout: 0.2, l2: 1, features: [] });
    expect(report.accuracy.after).toBeGreaterThan(report.accuracy.before + 0.1);
    expect(Math.abs(report.accuracy.after - oracle.accuracy.before)).toBeLessThan(0.02);
    console.log(JSON.stringify({ fitted: report.fit.weights, true: TRUE_WEIGHTS, heldOutAccuracy: report.accuracy, trueWeightsHeldOutAccuracy: oracle.accuracy.before, pairs: report.pairs }));
  });

  it('changes the choice between a long and a short reply', () => {
    const fitted = tuneSelection(scoredPairs(preferencePairs(entries)), () => CURRENT_WEIGHTS, { holdout: 0.2, l2: 1 }).fit.weights;
    expect(selectCandidate(choice, CURRENT_WEIGHTS)).toBe(0);
    expect(selectCandidate(choice, { ...CURRENT_WEIGHTS, ...fitted })).toBe(1);
  });

  it('stays finite when people always agree (separable pairs), thanks to the L2 penalty', () => {
    const pairs = [1, 2, 3].map((i) => ({ winner: { x: i }, loser: { x: 0 }, group: `g${i}`, preset: 'default' }));
    const fit = fitBradleyTerry(pairs, ['x'], { l2: 1 });
    expect(fit.converged).toBe(true);
    expect(Number.isFinite(fit.weights.x) && fit.weights.x > 0).toBe(true);
  });
});

describe('banter tune selection', () => {
  // The command's plumbing (store, split, fit, file) on part of the data: its figures must equal the library's.
  const stored = entries.slice(0, 1500);
  const expected = tuneSelection(scoredPairs(preferencePairs(stored)), (preset) => (preset === 'default' ? CURRENT_WEIGHTS_WITH_GROUNDING : {}), { holdout: 0.2, l2: 1 });
  let dir: string;
  let config: string;
  const CONFIG_TEXT = [
    '# a bot whose users like short replies',
    'engine:',
    `  model: ${FIXTURE_MODEL}`,
    'feedback:',
    '  store: sqlite://feedback.sqlite',
    'selection:',
    '  weights:',
    '    avgLogprob: 1   # per-token fluency',
    '    mmi: 1',
    '    grounding.support: 2',
    '',
  ].join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'banter-tune-'));
    config = join(dir, 'bot.yaml');
    await writeFile(config, CONFIG_TEXT);
    const store = await openFeedbackStore('sqlite://feedback.sqlite', dir);
    for (const entry of stored) await store.putFeedback(entry, 3_600_000);
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => (await runFeedbackCli(...args)).out.join('\n');

  it('prints the fit and held-out accuracy before and after, and writes nothing without --write', async () => {
    const report = JSON.parse(await run('tune', 'selection', '-c', config, '--json')) as TuneReport;
    expect(report.fit.weights).toEqual(roundWeights(expected.fit.weights));
    expect(report.accuracy).toEqual(expected.accuracy);
    expect(report.pairs).toEqual(expected.pairs);
    expect(report.accuracy.after).toBeGreaterThan(report.accuracy.before);
    expect(await readFile(config, 'utf8')).toBe(CONFIG_TEXT);
    const table = await run('tune', 'selection', '-c', config);
    expect(table).toMatch(/held-out pairwise accuracy: \d+\.\d% with the current weights, \d+\.\d% with the fitted ones/);
    expect(table).toMatch(/^logprob\s+-\s+0\.1\d+$/m);
  });

  it('with --write puts the fitted weights in the config, keeping its comments and other weights, and selection follows them', async () => {
    await run('tune', 'selection', '-c', config, '--write');
    const text = await readFile(config, 'utf8');
    expect(text).toContain('# a bot whose users like short replies');
    expect(text).toContain('# per-token fluency');
    const weights = (await loadConfig(config)).config.selection.weights;
    expect(weights).toEqual({ ...CURRENT_WEIGHTS_WITH_GROUNDING, ...roundWeights(expected.fit.weights) });
    expect(selectCandidate(choice, weights)).toBe(1);
  });

  it('with --preset fits that preset alone and writes into its file', async () => {
    const presets = join(dir, 'presets');
    await import('node:fs/promises').then((fs) => fs.mkdir(presets, { recursive: true }));
    const presetFile = join(presets, 'default.yaml');
    await writeFile(presetFile, 'name: default\npersona: [I am terse.]\n');
    const withPresets = join(dir, 'with-presets.yaml');
    await writeFile(withPresets, `${CONFIG_TEXT}presets:\n  dirs: [presets]\n`);
    await run('tune', 'selection', '-c', withPresets, '--preset', 'default', '--write');
    const preset = await readFile(presetFile, 'utf8');
    expect(preset).toMatch(/selection:\n {2}weights:\n {4}avgLogprob: [\d.]+\n {4}logprob: 0\.\d+\n {4}mmi: [\d.]+\n/);
    await expect(run('tune', 'selection', '-c', withPresets, '--preset', 'nobody')).rejects.toThrow('no preset named "nobody"');
  });
});
