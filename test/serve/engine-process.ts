/**
 * `banter engine serve` as a real child process of the CLI compiled for the test file, on
 * loopback: started on a port (0: any free one), its URL read from the line it prints when ready,
 * stopped by a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { compileChildren } from '../helpers/children.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURES = join(ROOT, 'test/fixtures');
/** Loading models in a child on a busy 2-core machine can take a while. */
const READY_TIMEOUT_MS = 120_000;

/** The project compiled into a private folder for this test file (see test/helpers/children.ts); its CLI. */
export function compileCli(): { cli: string; remove(): void } {
  const compiled = compileChildren();
  return { cli: join(compiled.dir, 'core/cli/main.js'), remove: compiled.remove };
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

export async function startEngineProcess(cli: string, models: string[], options: { port?: number; apiKey?: string; args?: string[] } = {}): Promise<EngineProcess> {
  const args = [cli, 'engine', 'serve', ...models.flatMap((model) => ['--model', model]), '--port', String(options.port ?? 0), '--log-level', 'info', ...(options.args ?? [])];
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
