/** `banter feedback export` and `banter tune selection`: what people said about replies, as training data and as selection weights. */
import { writeFile } from 'node:fs/promises';
import type { Command as Program } from 'commander';
import { loadConfig, loadPresets, presetDirs } from '../config/index.js';
import type { LoadedConfig } from '../config/types.js';
import {
  openFeedbackStore,
  pairsJsonl,
  preferencePairs,
  roundWeights,
  scoredPairs,
  tuneSelection,
  writeSelectionWeights,
  type FeedbackEntry,
  type PairFormat,
  type TuneReport,
} from '../feedback/index.js';
import { historyScheme } from '../history/store.js';

/** Every rating in the feedback store a config names (optionally one preset's). */
async function readFeedback(loaded: LoadedConfig, preset?: string): Promise<FeedbackEntry[]> {
  const url = loaded.config.feedback.store ?? loaded.config.history.store;
  if (historyScheme(url) === 'memory') {
    throw new Error('the feedback store is memory:// (ratings live only inside the running bot): set feedback.store (or history.store) to a sqlite:// or redis:// URL');
  }
  const store = await openFeedbackStore(url, loaded.dir, loaded.file ?? 'the default config');
  try {
    const entries = await store.feedback();
    return preset ? entries.filter((entry) => entry.turn.preset === preset) : entries;
  } finally {
    await store.close();
  }
}

function parseShare(value: string): number {
  const share = Number(value);
  if (!(share > 0 && share < 1)) throw new Error(`--holdout must be a number between 0 and 1 (got "${value}")`);
  return share;
}

function parsePositive(value: string): number {
  const number = Number(value);
  if (!(number >= 0)) throw new Error(`--l2 must be a number of at least 0 (got "${value}")`);
  return number;
}

function parseFormat(value: string): PairFormat {
  if (value !== 'conversational' && value !== 'text') throw new Error(`--format must be conversational or text (got "${value}")`);
  return value;
}

function percent(value: number): string {
  return Number.isNaN(value) ? 'n/a' : `${(value * 100).toFixed(1)}%`;
}

function printReport(report: TuneReport, current: Record<string, number>): void {
  const { fit } = report;
  console.log(`pairs: ${report.pairs.train} to fit, ${report.pairs.heldOut} held out (by turn)`);
  console.log(`fit: ${fit.converged ? 'converged' : 'did not converge'} in ${fit.iterations} Newton steps, loss ${fit.loss.toFixed(4)} per pair`);
  const width = Math.max(5, ...report.features.map((name) => name.length));
  console.log(`${'score'.padEnd(width)}  ${'current'.padStart(9)}  ${'fitted'.padStart(9)}`);
  for (const name of report.features) {
    const now = current[name];
    console.log(`${name.padEnd(width)}  ${(now === undefined ? '-' : String(now)).padStart(9)}  ${fit.weights[name].toPrecision(4).padStart(9)}`);
  }
  console.log(`held-out pairwise accuracy: ${percent(report.accuracy.before)} with the current weights, ${percent(report.accuracy.after)} with the fitted ones`);
  console.log(`training pairwise accuracy: ${percent(report.trainAccuracy.before)} -> ${percent(report.trainAccuracy.after)}`);
}

export function registerFeedbackCommands(program: Program): void {
  const feedback = program.command('feedback').description('Work with the ratings people gave replies');
  feedback
    .command('export')
    .description('Write preference pairs as JSONL (prompt, chosen, rejected): a 👍 reply over the candidates it beat, other candidates over a 👎 reply')
    .option('-c, --config <file>', 'bot config file (its feedback.store is read)')
    .option('-o, --output <file>', 'write here instead of standard output')
    .option('--format <format>', 'conversational (lists of chat messages) or text (the rendered prompt and plain replies)', parseFormat, 'conversational' as PairFormat)
    .option('--preset <name>', 'only turns of this preset')
    .option('--meta', "add each pair's turn id, rating, preset, model and both candidates' scores under `meta`")
    .action(async (options: { config?: string; output?: string; format: PairFormat; preset?: string; meta?: boolean }) => {
      const entries = await readFeedback(await loadConfig(options.config), options.preset);
      const pairs = preferencePairs(entries);
      const jsonl = pairsJsonl(pairs, { format: options.format, meta: options.meta });
      if (options.output) await writeFile(options.output, jsonl);
      else process.stdout.write(jsonl);
      const up = entries.filter((entry) => entry.rating === 'up').length;
      console.error(`${entries.length} ratings (${up} 👍, ${entries.length - up} 👎) -> ${pairs.length} preference pairs${options.output ? ` in ${options.output}` : ''}`);
    });

  const tune = program.command('tune').description('Fit settings to feedback');
  tune
    .command('selection')
    .description('Fit the selection weights to the preference pairs (Bradley–Terry over score differences); print held-out pairwise accuracy before and after')
    .option('-c, --config <file>', 'bot config file (its feedback.store is read; --write writes its selection.weights)')
    .option('--preset <name>', "fit one preset's turns, and --write into that preset's file")
    .option('--features <names>', 'comma-separated score names to fit (default: every score that tells two candidates of a pair apart)')
    .option('--holdout <share>', 'share of turns held out for the accuracy figures', parseShare, 0.2)
    .option('--l2 <lambda>', 'L2 penalty on the weights', parsePositive, 1)
    .option('--write', 'write the fitted weights into the config (or the preset) file')
    .option('--json', 'print the report as JSON')
    .action(async (options: { config?: string; preset?: string; features?: string; holdout: number; l2: number; write?: boolean; json?: boolean }) => {
      const loaded = await loadConfig(options.config);
      if (options.write && !loaded.file) throw new Error('--write needs --config FILE: the shipped default config is not written');
      const presets = new Map((await loadPresets(presetDirs(loaded))).map((preset) => [preset.name, preset]));
      const target = options.preset === undefined ? undefined : presets.get(options.preset);
      if (options.preset !== undefined && !target) throw new Error(`no preset named "${options.preset}"`);
      if (options.write && target && !target.file) throw new Error(`preset "${target.name}" has no file to write`);
      const current = (preset: string) => ({ ...loaded.config.selection.weights, ...presets.get(preset)?.selection.weights });
      const pairs = scoredPairs(preferencePairs(await readFeedback(loaded, options.preset)));
      if (pairs.length === 0) throw new Error('no preference pairs yet: people have rated no reply that had other candidates to compare with');
      const features = options.features?.split(',').map((name) => name.trim()).filter(Boolean);
      const report = tuneSelection(pairs, current, { holdout: options.holdout, l2: options.l2, features });
      const fitted = roundWeights(report.fit.weights);
      if (options.json) console.log(JSON.stringify({ ...report, fit: { ...report.fit, weights: fitted } }, null, 2));
      else printReport(report, target ? current(target.name) : loaded.config.selection.weights);
      if (!options.write) {
        if (!options.json) console.log('(not written: add --write to put the fitted weights in the file)');
        return;
      }
      const file = target ? target.file! : loaded.file!;
      await writeSelectionWeights(file, fitted);
      console.error(`wrote selection.weights (${Object.keys(fitted).join(', ')}) into ${file}`);
    });
}
