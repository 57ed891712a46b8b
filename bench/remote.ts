/**
 * `npm run bench -- remote [--runs N] [--warmup N] [--model DIR] [--backward DIR] [--json]`: what
 * the network hop to `banter engine serve` costs a turn. Each turn is the engine work of one bot
 * turn on the shipped models — generate (the default config's decoding: 8 candidates, up to 40
 * tokens) then MMI's scoring of the candidates on the backward model — done in this process and
 * through the engine server on loopback (a child process), interleaved, with the same seed, so both
 * do the same work (the JSON says whether their candidates were identical), and the round trip of
 * a request that needs no forward pass (the hop alone). Prints JSON and writes
 * bench/results/remote-latest.json.
 *
 * `startEngineServerProcess` is the hook for the load benchmark's `--remote-engine`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../core/config/index.js';
import { packageRoot } from '../core/config/package-root.js';
import { loadEngine } from '../core/engine/index.js';
import { EngineServerClient, type RemoteDialogueEngine } from '../core/engine/remote/index.js';
import type { DecodeOptions, DialogueEngine } from '../core/engine/types.js';
import { mmiScores } from '../plugins/mmi/index.js';
import { loadAverage, machineFacts } from './engine/machine.js';
import { median, quantile, round } from './engine/stats.js';
import { CHAT_MESSAGES as MESSAGES } from './messages.js';

export interface EngineServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `banter engine serve` on a free loopback port, from the compiled CLI, ready when it prints its URL. */
export async function startEngineServerProcess(models: string[], args: string[] = []): Promise<EngineServerProcess> {
  const cli = join(packageRoot(), 'dist', 'core', 'cli', 'main.js');
  const child = spawn(process.execPath, [...process.execArgv, cli, 'engine', 'serve', ...models.flatMap((m) => ['--model', m]), '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BANTER_ENGINE_API_KEY: '' },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /at (http:\/\/\S+\/v1)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`engine serve exited (${code}) before it was ready:\n${output}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

interface TurnTiming {
  generate_ms: number;
  score_ms: number;
  total_ms: number;
  texts: string[];
}

async function turn(forward: DialogueEngine, backward: DialogueEngine, text: string, decoding: DecodeOptions): Promise<TurnTiming> {
  const started = performance.now();
  const prompt = forward.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text, at: 0 }] }, decoding.maxNewTokens).tokens;
  const candidates = await forward.generate(prompt, decoding);
  const generated = performance.now();
  const replies = candidates.map((candidate) => candidate.text).filter((reply) => reply.trim());
  if (replies.length > 0) await mmiScores(backward, replies, [{ role: 'user', text }], true);
  const ended = performance.now();
  return { generate_ms: generated - started, score_ms: ended - generated, total_ms: ended - started, texts: candidates.map((c) => c.text) };
}

function summary(timings: TurnTiming[]) {
  const of = (key: 'generate_ms' | 'score_ms' | 'total_ms') => timings.map((t) => t[key]);
  return {
    median_ms: round(median(of('total_ms'))),
    p95_ms: round(quantile(of('total_ms'), 0.95)),
    generate_median_ms: round(median(of('generate_ms'))),
    score_median_ms: round(median(of('score_ms'))),
  };
}

export async function remoteCommand(args: string[]): Promise<void> {
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  const runs = Number(option('--runs', '15'));
  const warmup = Number(option('--warmup', '2'));
  const root = packageRoot();
  const model = option('--model', join(root, 'models', 'banter-chat'));
  const backwardModel = option('--backward', join(root, 'models', 'banter-chat-backward'));
  const quiet = args.includes('--json');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const { config } = await loadConfig();
  const decoding = config.decoding;

  const loadStart = loadAverage();
  say(`starting banter engine serve on ${model} and ${backwardModel}`);
  const server = await startEngineServerProcess([model, backwardModel]);
  try {
    const client = await EngineServerClient.connect({ url: server.url, timeoutMs: 120_000, retryForMs: 0 });
    const backwardServed = client.engineFor(backwardModel, false);
    if (!backwardServed) throw new Error(`the engine server does not serve ${backwardModel}`);
    const remote: Record<'forward' | 'backward', RemoteDialogueEngine> = { forward: await client.engineFor(model, true)!, backward: await backwardServed };
    const local = { forward: await loadEngine(model, { device: 'cpu' }), backward: await loadEngine(backwardModel, { device: 'cpu' }) };
    const timings = { local: [] as TurnTiming[], remote: [] as TurnTiming[] };
    const serverMs: number[] = [];
    const requests: number[] = [];
    let sameCandidates = true;
    for (let i = 0; i < warmup + runs; i++) {
      const text = MESSAGES[i % MESSAGES.length];
      const options = { ...decoding, seed: 1000 + i };
      // Alternate which goes first, so a drift in the machine's load hits both alike.
      const order = i % 2 === 0 ? (['local', 'remote'] as const) : (['remote', 'local'] as const);
      const results: Partial<Record<'local' | 'remote', TurnTiming>> = {};
      const before = { ms: remote.forward.stats.serverMs + remote.backward.stats.serverMs, requests: remote.forward.stats.requests + remote.backward.stats.requests };
      for (const system of order) {
        const engines: Record<'forward' | 'backward', DialogueEngine> = system === 'local' ? local : remote;
        results[system] = await turn(engines.forward, engines.backward, text, options);
      }
      if (JSON.stringify(results.local!.texts) !== JSON.stringify(results.remote!.texts)) sameCandidates = false;
      if (i < warmup) continue;
      timings.local.push(results.local!);
      timings.remote.push(results.remote!);
      serverMs.push(remote.forward.stats.serverMs + remote.backward.stats.serverMs - before.ms);
      requests.push(remote.forward.stats.requests + remote.backward.stats.requests - before.requests);
      if (!quiet) say(`run ${i - warmup + 1}/${runs}: in-process ${round(results.local!.total_ms)} ms, engine server ${round(results.remote!.total_ms)} ms`);
    }
    await local.forward.dispose();
    await local.backward.dispose();
    // The hop alone: a request the engine answers without a forward pass (a one-token prompt echoed).
    const empty: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await client.connection.post('/completions', { model: remote.forward.servedModel, prompt: [remote.forward.info.bosToken], echo: true, logprobs: 0, max_tokens: 0 });
      empty.push(performance.now() - started);
    }

    const inProcess = summary(timings.local);
    const viaServer = summary(timings.remote);
    const paired = timings.remote.map((t, i) => t.total_ms - timings.local[i].total_ms);
    const outsideServer = timings.remote.map((t, i) => t.total_ms - serverMs[i]);
    const overheadMs = viaServer.median_ms - inProcess.median_ms;
    const report = {
      benchmark: 'remote',
      date: new Date().toISOString(),
      machine: { ...(await machineFacts()), load_average_start: loadStart, load_average_end: loadAverage() },
      workload:
        `one bot turn's engine work on ${model.split('/').at(-1)}: encodeDialogue + generate (${decoding.numCandidates} candidates, up to ${decoding.maxNewTokens} tokens, ` +
        `top-k ${decoding.topK}, top-p ${decoding.topP}, temperature ${decoding.temperature}) + MMI scoring of the candidates on ${backwardModel.split('/').at(-1)}; ` +
        `${runs} timed turns after ${warmup} warmups, in-process and through banter engine serve on loopback interleaved, seed 1000 + turn in both`,
      same_candidates: sameCandidates,
      systems: {
        'in-process': inProcess,
        'engine server (loopback)': { ...viaServer, server_processing_median_ms: round(median(serverMs)), requests_per_turn: median(requests) },
      },
      overhead: {
        median_ms: round(overheadMs),
        fraction_of_turn: round(overheadMs / inProcess.median_ms, 4),
        paired_median_ms: round(median(paired)),
        // Of a remote turn, the time not inside the server's processing: network, JSON, and the client's own encoding.
        outside_server_median_ms: round(median(outsideServer)),
        empty_request_median_ms: round(median(empty)),
        target: 'at most 10% of the in-process turn time',
        within_target: overheadMs <= 0.1 * inProcess.median_ms,
      },
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    await writeFile(join(root, 'bench', 'results', 'remote-latest.json'), json);
    process.stdout.write(json);
  } finally {
    await server.stop();
  }
}
