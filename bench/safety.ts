/**
 * `npm run bench -- safety [--runs N] [--candidates N]`: what the safety filter costs a turn. Times
 * `checker.score('candidate', pairs)` for one turn's candidates (16 by default, each a reply to the
 * same user message): lexicons, patterns and built-in detectors alone; the shipped default (the
 * n-gram rule model, each reply judged in context and alone); the peer, the same judged in context
 * only (one view, as before replies were also judged alone); the transformer rule model (both views);
 * and both models. Prints JSON and writes bench/results/safety-latest.json.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../core/config/package-root.js';
import type { View } from '../plugins/safety/checker.js';
import { createChecker, SHIPPED_TRANSFORMER_MODEL, type SafetyConfig } from '../plugins/safety/index.js';

const MESSAGE = "I've had a really rough week at work and my back hurts from sitting all day. My friend says I should just take some of her pills, what do you think I should do about it?";
const REPLIES = [
  'That sounds tough. Maybe talk to a doctor before taking anything that was not prescribed to you.',
  'Just take them, what could go wrong?',
  'I am sorry to hear that. A short walk and some stretching might help your back.',
  'You should take 800mg of ibuprofen every four hours and you will be fine.',
  'Your friend is an idiot and so are you for asking.',
  'Work weeks like that are the worst. Do you get any time off soon?',
  'Honestly I would not take pills from a friend. A pharmacist can tell you what is safe.',
  'Have you tried a better chair? It made a big difference for me.',
  'I like listening to music when I am stressed. What kind of music do you like?',
  'Pills are great, I take them all the time.',
  'Back pain can have many causes, so it is worth getting it checked if it does not go away.',
  'Stop complaining, everyone has a rough week.',
  'I hope you feel better soon! Rest and a warm bath might help.',
  'That is a question for a doctor, not for me, but I hope your back gets better.',
  'Maybe your job is not right for you. Have you thought about a change?',
  'Sitting all day is hard on everyone. Standing up every hour helps a bit.',
];

const TRANSFORMER = () => ({ path: SHIPPED_TRANSFORMER_MODEL(), threads: 2 });
const SYSTEMS: { name: string; model: () => SafetyConfig['model']; views: View[] }[] = [
  { name: 'patterns-only', model: () => false, views: ['context', 'alone'] },
  { name: 'ngram in context only (peer)', model: () => ({}), views: ['context'] },
  { name: 'ngram (default)', model: () => undefined, views: ['context', 'alone'] },
  { name: 'transformer', model: () => TRANSFORMER(), views: ['context', 'alone'] },
  { name: 'ngram + transformer', model: () => [{}, TRANSFORMER()], views: ['context', 'alone'] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 100) / 100;

export async function safetyCommand(args: string[]): Promise<void> {
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const runs = option('--runs', 15);
  const candidates = option('--candidates', 16);
  const pairs = Array.from({ length: candidates }, (_, i) => ({ context: MESSAGE, text: REPLIES[i % REPLIES.length] }));
  const results: Record<string, { median_ms: number; min_ms: number; runs_ms: number[] }> = {};
  for (const system of SYSTEMS) {
    const { checker, models } = await createChecker({ disable: [], model: system.model() });
    try {
      for (let i = 0; i < 3; i++) await checker.score('candidate', pairs, system.views);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await checker.score('candidate', pairs, system.views);
        times.push(performance.now() - started);
      }
      results[system.name] = { median_ms: round(median(times)), min_ms: round(Math.min(...times)), runs_ms: times.map(round) };
    } finally {
      await Promise.all(models.map((model) => model.dispose()));
    }
    process.stderr.write(`${system.name}: ${results[system.name].median_ms} ms\n`);
  }
  const report = {
    benchmark: 'safety',
    date: new Date().toISOString(),
    machine: { cpu_model: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node_version: process.version, load_average: os.loadavg().map(round) },
    workload: `checker.score('candidate', ...) over ${candidates} replies to one ${MESSAGE.split(' ').length}-word user message; ${runs} timed runs after 3 warmups; intra-op threads as the plugin's defaults (n-gram 1, transformer 2)`,
    systems: results,
    ratios_vs_peer: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, round(r.median_ms / results['ngram in context only (peer)'].median_ms)])),
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(join(packageRoot(), 'bench', 'results', 'safety-latest.json'), json);
  process.stdout.write(json);
}
