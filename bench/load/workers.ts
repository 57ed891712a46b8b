/**
 * `npm run bench -- load --workers 2 --remote-engine [--sizes 1,8,32] [--messages 3] [--json]`:
 * the bot past one process, end to end through the web chat. Three setups on the shipped config,
 * each size run on all three in turn (so drift in the machine's load hits them alike):
 *   in-process      one bot process running its models itself (memory history), as `npm run bench -- load`;
 *   remote          one bot process, models on `banter engine serve` (loopback), memory history;
 *   remote + Redis  the same with history and coordination (lock, fenced writes, admission) in Redis;
 *   N workers       N bot processes on that engine server and Redis, the conversations dealt to them in turn.
 * The network hop's cost per turn is remote's median turn time against in-process's, and Redis's
 * cost remote + Redis's against remote's, one conversation at a time (no batching to blur them), in
 * rounds that rotate the order (target for the hop: <= 10%). Redis: $REDIS_URL, else a redis-server this
 * starts on a free port. Prints JSON and writes bench/results/load-workers-latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../core/config/index.js';
import { packageRoot } from '../../core/config/package-root.js';
import { loadAverage, machineFacts } from '../engine/machine.js';
import { median, quantile, round } from '../engine/stats.js';
import { startEngineServerProcess } from '../remote.js';
import { BotProcess } from './bot-process.js';
import { converse } from './conversation.js';

/** The hop measure: rounds alternating in-process and remote, each one conversation saying this many lines. */
const HOP_ROUNDS = 6;
const HOP_TURNS_PER_ROUND = 8;

interface SetupFigures {
  turns: number;
  seconds: number;
  turns_per_s: number;
  p50_ms: number;
  p95_ms: number;
  replies: Record<string, number>;
  crossed: number;
}

/** `conversations` at once, dealt to `bots` in turn, each saying `messages` lines. */
async function runSize(bots: BotProcess[], conversations: number, messages: number, label: string): Promise<SetupFigures & { latencies: number[] }> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: conversations }, (_, i) => converse(bots[i % bots.length].socketUrl, `${label}-${i}`, i, messages)));
  const seconds = (performance.now() - started) / 1000;
  const latencies = results.flatMap((r) => r.latenciesMs);
  const replies: Record<string, number> = {};
  for (const r of results) for (const [kind, count] of Object.entries(r.kinds)) replies[kind] = (replies[kind] ?? 0) + count;
  return {
    turns: latencies.length,
    seconds: round(seconds, 1),
    turns_per_s: round(latencies.length / seconds, 3),
    p50_ms: round(median(latencies), 0),
    p95_ms: round(quantile(latencies, 0.95), 0),
    replies,
    crossed: results.reduce((sum, r) => sum + r.crossed, 0),
    latencies,
  };
}

/** $REDIS_URL, or a private redis-server on a free loopback port (stopped afterwards). */
async function redisForBench(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()).includes('Ready to accept connections') && resolve());
    child.once('error', () => reject(new Error('redis-server is not installed: install it or set REDIS_URL')));
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export async function workersCommand(args: string[]): Promise<void> {
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const workers = Number(option('--workers', '2'));
  const sizes = option('--sizes', '1,8,32').split(',').map(Number);
  const messages = Number(option('--messages', '3'));
  if (!Number.isInteger(workers) || workers < 1 || sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(messages) || messages < 1) {
    throw new Error('--workers and --messages take a positive integer, --sizes positive integers separated by commas');
  }
  if (!args.includes('--remote-engine')) throw new Error('--workers runs the workers on one engine server: add --remote-engine');
  const quiet = args.includes('--json');
  const say = (line: string) => quiet || process.stderr.write(`${line}\n`);
  const { config } = await loadConfig(undefined, { env: {} });
  const batched = config.engine.maxConcurrentGenerations;
  const loadStart = loadAverage();

  const redis = await redisForBench();
  const store = `${redis.url.replace(/\/\d*$/, '')}/9`;
  say('starting banter engine serve (the shipped models)');
  const engine = await startEngineServerProcess([]);
  const remoteEngine = { engine: { url: engine.url } };
  const shared = { ...remoteEngine, history: { store }, coordination: { leaseMs: 15_000 } };
  const setups: Record<string, BotProcess[]> = {};
  try {
    say(`starting the bots: in-process, remote, remote + Redis, ${workers} workers`);
    setups['in-process'] = [await BotProcess.start(batched)];
    setups.remote = [await BotProcess.start(batched, remoteEngine)];
    setups['remote + Redis'] = [await BotProcess.start(batched, shared)];
    const workersName = `${workers} workers`;
    setups[workersName] = await Promise.all(Array.from({ length: workers }, () => BotProcess.start(batched, shared)));
    // One turn on every process first: the first session.run of a process pays for graph setup.
    for (const bots of Object.values(setups)) for (const [i, bot] of bots.entries()) await converse(bot.socketUrl, `warmup-${i}`, 0, 1);

    const rows: { conversations: number; setups: Record<string, SetupFigures> }[] = [];
    const names = Object.keys(setups);
    for (const [index, conversations] of sizes.entries()) {
      const order = index % 2 === 0 ? names : [...names].reverse();
      const figures: Record<string, SetupFigures> = {};
      for (const name of order) {
        const { latencies: _, ...f } = await runSize(setups[name], conversations, messages, `${name.replace(/\W+/g, '-')}-${conversations}-${Date.now()}`);
        figures[name] = f;
        say(`${conversations} conversations, ${name}: ${f.turns_per_s} turns/s, p50 ${f.p50_ms} ms, p95 ${f.p95_ms} ms`);
      }
      rows.push({ conversations, setups: Object.fromEntries(names.map((name) => [name, figures[name]])) });
    }
    // The hop and Redis: one conversation at a time (nothing batched), the order rotated each round.
    const compared = ['in-process', 'remote', 'remote + Redis'] as const;
    const hopTurns: Record<(typeof compared)[number], number[]> = { 'in-process': [], remote: [], 'remote + Redis': [] };
    for (let pass = 0; pass < HOP_ROUNDS; pass++) {
      for (const name of [...compared.slice(pass % 3), ...compared.slice(0, pass % 3)]) {
        hopTurns[name].push(...(await runSize(setups[name], 1, HOP_TURNS_PER_ROUND, `hop-${name.replace(/\W+/g, '-')}-${pass}-${Date.now()}`)).latencies);
      }
    }
    const [local, remote, coordinated] = compared.map((name) => median(hopTurns[name]));
    const hop = {
      turns_each: hopTurns.remote.length,
      in_process_median_ms: round(local, 1),
      remote_median_ms: round(remote, 1),
      fraction: round((remote - local) / local, 3),
      remote_with_redis_median_ms: round(coordinated, 1),
      redis_fraction: round((coordinated - remote) / local, 3),
    };
    say(`network hop: in-process ${hop.in_process_median_ms} ms, remote ${hop.remote_median_ms} ms per turn (${round(hop.fraction * 100, 1)}%); with Redis ${hop.remote_with_redis_median_ms} ms`);
    const report = {
      benchmark: 'load-workers',
      date: new Date().toISOString(),
      machine: { ...(await machineFacts()), load_average_start: loadStart, load_average_end: loadAverage() },
      workload:
        `N conversations at once, each its own WebSocket to a web chat, saying ${messages} messages one after another, through the shipped bot config ` +
        `(${config.engine.model.split('/').at(-1)}, ${config.decoding.numCandidates} candidates up to ${config.decoding.maxNewTokens} tokens, plugins ${Object.keys(config.plugins).join(', ')}); ` +
        `in-process: one bot running its models; remote: one bot on banter engine serve (loopback); remote + Redis: the same with history and coordination in Redis; ` +
        `${workers} workers: ${workers} such bots, conversations dealt in turn; every process on this machine`,
      settings: { workers, sizes, messages, max_concurrent_generations: batched },
      sizes: rows,
      network_hop_per_turn: { ...hop, target: 'fraction <= 0.10 of the in-process turn time (one conversation at a time); redis_fraction: what Redis coordination adds, as a fraction of the same' },
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    await writeFile(join(packageRoot(), 'bench', 'results', 'load-workers-latest.json'), json);
    process.stdout.write(json);
  } finally {
    await Promise.all(Object.values(setups).flat().map((bot) => bot.stop()));
    await engine.stop();
    await redis.stop();
  }
}
