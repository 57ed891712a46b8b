/**
 * Messages between the harness and a measuring child process: one child per system and scenario,
 * or one child holding every system of a scenario (`--same-process`).
 */
import type { BenchDevice, SystemName, Threads, Workload } from './types.js';

export interface SetupRequest {
  type: 'setup';
  system: SystemName;
  modelDir: string;
  workload: Workload;
  threads: Threads;
  device: BenchDevice;
}

export type ParentMessage = SetupRequest | { type: 'run'; system: SystemName; seed: number } | { type: 'finish' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'unsupported'; reason: string }
  /** One run: wall time, time inside onnxruntime's session.run, its calls, and the tokens produced. */
  | { type: 'ran'; ms: number; sessionRunMs: number; sessionRunCalls: number; tokens: number }
  /** maxRSS of the child after its runs (model load included). */
  | { type: 'finished'; peakRssMb: number };
