/**
 * `banter engine serve` as a real child process of the compiled CLI, on loopback: started on a
 * port (0: any free one), its URL read from the line it prints when ready, stopped by a signal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/core/cli/main.js');
export const FIXTURES = join(ROOT, 'test/fixtures');
/** Loading models in a child on a busy 2-core machine can take a while. */
const READY_TIMEOUT_MS = 120_000;

/** Written after a build, so test files running at once build once (a build rewriting dist/ under a starting child would break it). */
const STAMP = join(ROOT, 'dist', '.serve-tests-built');
const LOCK = join(tmpdir(), `banter-serve-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : entry.name.endsWith('.ts') ? statSync(path).mtimeMs : 0);
  }
  return newest;
}

/** Compiles the project (unless this checkout's dist/ is newer than every source) so the child runs the current code. */
export async function buildCli(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock left by a crashed run is stale after two minutes.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (Math.max(...['core', 'plugins', 'adapters', 'bench'].map((dir) => newestSource(join(ROOT, dir)))) < built) return;
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (${tsc.status ?? tsc.signal}):\n${tsc.stdout}${tsc.stderr}`);
    writeFileSync(STAMP, new Date().toISOString());
  } finally {
    rmdirSync(LOCK);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

export interface EngineProcess {
  /** The API base, `http://127.0.0.1:PORT/v1`. */
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` and waits for the exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startEngineProcess(models: string[], options: { port?: number; apiKey?: string; args?: string[] } = {}): Promise<EngineProcess> {
  const args = [CLI, 'engine', 'serve', ...models.flatMap((model) => ['--model', model]), '--port', String(options.port ?? 0), '--log-level', 'info', ...(options.args ?? [])];
  const env = { ...process.env, BANTER_ENGINE_API_KEY: options.apiKey ?? '' };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`engine serve was not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /at (http:\/\/\S+\/v1)/.exec(output);
      if (match) {
        clearTimeout(timer);
        ready(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      fail(new Error(`engine serve exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}
