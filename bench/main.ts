/**
 * Benchmarks: `npm run bench -- <benchmark> [options]`.
 *   engine   banter's engine vs transformers.js vs bare onnxruntime (see bench/engine/cli.ts)
 *   safety   what the safety filter's rule models cost a turn (see bench/safety.ts)
 *   remote   the network hop to `banter engine serve` per turn, vs in-process (see bench/remote.ts)
 */
import { engineCommand } from './engine/cli.js';
import { remoteCommand } from './remote.js';
import { safetyCommand } from './safety.js';

const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = { engine: engineCommand, safety: safetyCommand, remote: remoteCommand };

const [name, ...args] = process.argv.slice(2);
const benchmark = name === undefined ? undefined : BENCHMARKS[name];
if (!benchmark) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]\n`);
  process.exit(2);
}
benchmark(args).catch((error: unknown) => {
  process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
