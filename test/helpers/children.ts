/**
 * Child processes for tests that kill or crash a process: the project and `test/children/` are
 * compiled into a private folder under test-output/ (its own per test file, so parallel test
 * files never read each other's half-written output), and scripts there are run with node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CompiledChildren {
  dir: string;
  /** Starts `test/children/NAME.js` with `args`; stdout is read line by line. */
  spawn(name: string, args: string[], env?: NodeJS.ProcessEnv): RunningChild;
  remove(): void;
}

export interface RunningChild {
  process: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** What the child wrote to stderr, for failure messages. */
  stderr(): string;
  /** Resolves when a line matching `match` arrives (or a line already arrived). */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function compileChildren(): CompiledChildren {
  const dir = join(ROOT, 'test-output', `children-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { outDir: dir, rootDir: ROOT, declaration: false, sourceMap: false },
      include: ['core', 'plugins', 'adapters', 'test/children'].map((folder) => join(ROOT, folder)),
    }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`compiling the child scripts failed (${tsc.status ?? tsc.signal}):\n${tsc.stdout}${tsc.stderr}`);
  // Files the compiled code reads beside itself.
  cpSync(join(ROOT, 'adapters/web/public'), join(dir, 'adapters/web/public'), { recursive: true });
  return {
    dir,
    spawn: (name, args, env) => startChild(join(dir, 'test/children', `${name}.js`), args, env),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts a compiled node script (here: the project's CLI from dist/, or a compiled child) with stdout read line by line. */
export function startChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningChild {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const wake of [...waiters]) wake();
  });
  return {
    process: child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine(match, timeoutMs = 60_000) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => finish(new Error(`no matching line from the child within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        const look = () => {
          const line = lines.find(match);
          if (line !== undefined) finish(undefined, line);
          else if (hasExited) finish(new Error(`the child exited without the line; stderr:\n${stderr}`));
        };
        const finish = (error?: Error, line?: string) => {
          clearTimeout(timer);
          waiters.delete(look);
          if (error) reject(error);
          else resolvePromise(line!);
        };
        waiters.add(look);
        look();
      });
    },
  };
}
