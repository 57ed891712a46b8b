/** A system under test: set up once for one workload, then run repeatedly. */
import type { BenchDevice, Threads, Workload } from '../types.js';

export interface BenchSystem {
  /** Runs the workload once with this seed; returns the tokens it produced (generation) or scored. */
  run(seed: number): Promise<number>;
  dispose(): Promise<void>;
}

export interface Unsupported {
  unsupported: string;
}

export type SystemFactory = (modelDir: string, workload: Workload, threads: Threads, device: BenchDevice) => Promise<BenchSystem | Unsupported>;

/** Every system must do the same work: a run that produced fewer tokens than asked is a harness bug. */
export function expectTokens(system: string, produced: number, expected: number): number {
  if (produced !== expected) {
    throw new Error(`${system} produced ${produced} tokens where the workload asks for ${expected}: the systems would not do equal work`);
  }
  return produced;
}

export function expectedTokens(workload: Workload): number {
  switch (workload.kind) {
    case 'sample':
      return workload.candidates * workload.sampling.newTokens;
    case 'beam':
      return workload.width * workload.newTokens;
    case 'score':
      return workload.pairs.reduce((sum, pair) => sum + pair.continuation.length, 0);
  }
}
