/**
 * `npm run bench -- load [--sizes 1,8,32,100] [--messages 5] [--json]`: many conversations at once
 * through the real bot (shipped config: banter-chat, plugins on) over the web chat's WebSocket.
 * Two bot processes run side by side: serial (`engine.maxConcurrentGenerations: 1`, one turn at a
 * time) and batched (the shipped setting), and each size runs on both in turn, so their ratio comes
 * from one run on one machine. Every conversation is its own socket and says `--messages` lines,
 * each after the reply to the last. Prints JSON, writes bench/results/load-latest.json and
 * bench/results/load-turns-per-second.svg.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../core/config/index.js';
import { packageRoot } from '../../core/config/package-root.js';
import { loadAverage, machineFacts } from '../engine/machine.js';
import { median, quantile, round } from '../engine/stats.js';
import { BotProcess } from './bot-process.js';
import { converse } from './conversation.js';
import { renderLoadPlot } from './plot.js';
import type { LoadReport, ModeFigures, ModeName } from './report.js';

async function runSize(bot: BotProcess, conversations: number, messages: number, label: string): Promise<ModeFigures> {
  const { result, phase } = await bot.measure(async () => {
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: conversations }, (_, i) => converse(bot.socketUrl, `${label}-${i}`, i, messages)));
    return { results, seconds: (performance.now() - started) / 1000 };
  });
  const latencies = result.results.flatMap((r) => r.latenciesMs);
  const replies: Record<string, number> = {};
  for (const r of result.results) for (const [kind, count] of Object.entries(r.kinds)) replies[kind] = (replies[kind] ?? 0) + count;
  return {
    turns: latencies.length,
    seconds: round(result.seconds, 1),
    turns_per_s: round(latencies.length / result.seconds, 3),
    p50_ms: round(median(latencies), 0),
    p95_ms: round(quantile(latencies, 0.95), 0),
    event_loop_delay: phase.eventLoopDelay,
    peak_rss_mb: phase.peakRssMb,
    replies,
    crossed: result.results.reduce((sum, r) => sum + r.crossed, 0),
  };
}

export async function loadCommand(args: string[]): Promise<void> {
  // Several workers and/or the engine as a service: bench/load/workers.ts.
  if (args.includes('--workers') || args.includes('--remote-engine')) return (await import('./workers.js')).workersCommand(args);
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const sizes = option('--sizes', '1,8,32,100').split(',').map(Number);
  const messages = Number(option('--messages', '5'));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(messages) || messages < 1) {
    throw new Error('--sizes takes positive integers separated by commas, --messages a positive integer');
  }
  const quiet = args.includes('--json');
  const say = (line: string) => quiet || process.stderr.write(`${line}\n`);
  const root = packageRoot();
  const { config } = await loadConfig(undefined, { env: {} });
  const batchedSetting = config.engine.maxConcurrentGenerations;

  const loadStart = loadAverage();
  say(`starting two bots (maxConcurrentGenerations 1 and ${batchedSetting})`);
  const bots: Record<ModeName, BotProcess> = { serial: await BotProcess.start(1), batched: await BotProcess.start(batchedSetting) };
  try {
    // One turn each first: the first session.run of a process pays for graph setup.
    for (const mode of ['serial', 'batched'] as const) await converse(bots[mode].socketUrl, 'warmup', 0, 1);
    const rows: LoadReport['sizes'] = [];
    for (const [index, conversations] of sizes.entries()) {
      // Alternate which runs first, so a drift in the machine's load hits both alike.
      const order: ModeName[] = index % 2 === 0 ? ['serial', 'batched'] : ['batched', 'serial'];
      const figures: Partial<Record<ModeName, ModeFigures>> = {};
      for (const mode of order) {
        figures[mode] = await runSize(bots[mode], conversations, messages, `${mode}-${conversations}`);
        const f = figures[mode]!;
        say(`${conversations} conversations, ${mode}: ${f.turns_per_s} turns/s, p50 ${f.p50_ms} ms, p95 ${f.p95_ms} ms, event loop p99 ${f.event_loop_delay.p99_ms} ms`);
      }
      const { serial, batched } = figures as Record<ModeName, ModeFigures>;
      rows.push({
        conversations,
        serial,
        batched,
        batched_over_serial: { turns_per_s: round(batched.turns_per_s / serial.turns_per_s, 2), p95: round(batched.p95_ms / serial.p95_ms, 2) },
      });
    }
    const at32 = rows.find((row) => row.conversations === 32);
    const at100 = rows.find((row) => row.conversations === 100);
    const report: LoadReport = {
      benchmark: 'load',
      date: new Date().toISOString(),
      machine: { ...(await machineFacts()), load_average_start: loadStart, load_average_end: loadAverage() },
      workload:
        `N conversations at once, each its own WebSocket to the web chat, saying ${messages} messages one after another (each after the reply to the last), ` +
        `through the shipped bot config (${config.engine.model.split('/').at(-1)}, ${config.decoding.numCandidates} candidates up to ${config.decoding.maxNewTokens} tokens, ` +
        `plugins ${Object.keys(config.plugins).join(', ')}); each bot in its own process, event-loop delay and RSS measured there; ` +
        `serial: maxConcurrentGenerations 1, batched: ${batchedSetting}`,
      settings: { sizes, messages, batched_max_concurrent_generations: batchedSetting },
      sizes: rows,
      targets: {
        at_32_turns_per_s_ratio: { target: '>= 2.5', measured: at32?.batched_over_serial.turns_per_s ?? null },
        at_32_p95_ratio: { target: '<= 0.5', measured: at32?.batched_over_serial.p95 ?? null },
        at_100_event_loop_p99_ms: { target: '<= 50', measured: at100 ? { serial: at100.serial.event_loop_delay.p99_ms, batched: at100.batched.event_loop_delay.p99_ms } : null },
      },
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    await writeFile(join(root, 'bench', 'results', 'load-latest.json'), json);
    await writeFile(join(root, 'bench', 'results', 'load-turns-per-second.svg'), renderLoadPlot(report));
    process.stdout.write(json);
  } finally {
    await Promise.all(Object.values(bots).map((bot) => bot.stop()));
  }
}
