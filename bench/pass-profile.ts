/**
 * Where a process's onnxruntime time goes, by graph and batch size: preload it into any banter
 * process (children and worker threads inherit `--import`), e.g.
 *   node --single-threaded-gc --import ./dist/bench/pass-profile.js dist/bench/main.js load --sizes 32 --messages 2
 * Each thread that ran a pass writes a table to $BANTER_PASS_PROFILE_DIR (default /tmp) at exit:
 * calls, total and mean ms, rows and tokens per call, per kind (decoder layers; prefill, step or
 * scoring pass; other graphs by their first inputs). onnxruntime-node runs `session.run`
 * synchronously inside a setImmediate callback; the time is taken from an immediate queued just
 * before it to one queued just after, so it also holds the synchronous work the pass's result
 * triggers (sampling, cache writes) until the thread next waits.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import type { Tensor } from 'onnxruntime-node';

interface Tally {
  calls: number;
  ms: number;
  rows: number;
  tokens: number;
}

type Feeds = Record<string, Tensor>;
type Run = (this: { handler: object }, feeds: Feeds, ...rest: unknown[]) => Promise<unknown>;

const tallies = new Map<string, Tally>();
const bucket = (rows: number) => [1, 8, 16, 32, 64].find((limit) => rows <= limit)?.toString() ?? '65+';

function kindOf(feeds: Feeds): string {
  const names = Object.keys(feeds);
  const layers = names.filter((name) => /^(cache|past_key_values)\.\d+\.key$/.test(name)).length;
  if (layers === 0) return names.slice(0, 2).join('+');
  const [, seq] = feeds.input_ids?.dims ?? [];
  const slots = feeds['cache.0.key']?.dims[2];
  return `decoder ${layers} layers ${slots === 1 && seq > 1 ? 'score' : seq === 1 ? 'step' : 'prefill'}`;
}

function record(feeds: Feeds, ms: number): void {
  const [rows = 0, seq = 0] = feeds.input_ids?.dims ?? [];
  const key = `${kindOf(feeds)}, rows <= ${bucket(rows)}`;
  const tally = tallies.get(key) ?? { calls: 0, ms: 0, rows: 0, tokens: 0 };
  tally.calls++;
  tally.ms += ms;
  tally.rows += rows;
  tally.tokens += rows * seq;
  tallies.set(key, tally);
}

// The handler class is not exported: its prototype is reached through the first session that runs.
const { InferenceSession: Session } = createRequire(import.meta.url)('onnxruntime-common') as { InferenceSession: { prototype: { run: Run } } };
const run = Session.prototype.run;
Session.prototype.run = function (this: { handler: object }, feeds: Feeds, ...rest: unknown[]) {
  const handler = Object.getPrototypeOf(this.handler) as { run: Run; profiled?: true };
  if (!handler.profiled) {
    handler.profiled = true;
    const inner = handler.run;
    handler.run = function (this: { handler: object }, passFeeds: Feeds, ...args: unknown[]) {
      let start = 0;
      setImmediate(() => (start = performance.now()));
      const result = inner.call(this, passFeeds, ...args);
      setImmediate(() => record(passFeeds, performance.now() - start));
      return result;
    };
  }
  return run.call(this, feeds, ...rest);
};

process.on('exit', () => {
  if (tallies.size === 0) return;
  const lines = [...tallies]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([key, t]) => `${key.padEnd(44)} calls ${String(t.calls).padStart(6)}  total ${t.ms.toFixed(0).padStart(7)} ms  mean ${(t.ms / t.calls).toFixed(1).padStart(6)} ms  rows ${(t.rows / t.calls).toFixed(1)}  tokens ${(t.tokens / t.calls).toFixed(0)}`);
  const dir = process.env.BANTER_PASS_PROFILE_DIR ?? '/tmp';
  writeFileSync(join(dir, `passes-${process.pid}-${threadId}.txt`), `${lines.join('\n')}\n`);
});
