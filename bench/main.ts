/**
 * Benchmarks: `npm run bench -- <benchmark> [options]`.
 *   engine   banter's engine vs transformers.js vs bare onnxruntime (see bench/engine/cli.ts)
 *   safety   what the safety filter's rule models cost a turn (see bench/safety.ts)
 *   parity   the engine on a GPU device against the CPU: candidates and scores (see bench/gpu/parity.ts)
 *   layouts  the decoder's cache layouts on one device, per decode step (see bench/gpu/layouts.ts)
 *   load     many conversations at once through the bot's web chat, serial vs batched (see bench/load/cli.ts)
 *   weights  writes the random weights of model folders stripped for a GPU run (see bench/gpu/weights.ts)
 * Each is imported only when run, so one benchmark never loads another's dependencies.
 */
const BENCHMARKS: Record<string, () => Promise<(args: string[]) => Promise<void>>> = {
  engine: async () => (await import('./engine/cli.js')).engineCommand,
  safety: async () => (await import('./safety.js')).safetyCommand,
  parity: async () => (await import('./gpu/parity.js')).parityCommand,
  layouts: async () => (await import('./gpu/layouts.js')).layoutsCommand,
  load: async () => (await import('./load/cli.js')).loadCommand,
  weights: async () => (await import('./gpu/weights.js')).weightsCommand,
};

const [name, ...args] = process.argv.slice(2);
const benchmark = name === undefined ? undefined : BENCHMARKS[name];
if (!benchmark) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]\n`);
  process.exit(2);
}
benchmark()
  .then((command) => command(args))
  .catch((error: unknown) => {
    process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
