/** The load benchmark's JSON report. */
import type { MachineFacts } from '../engine/machine.js';
import type { EventLoopFigures } from './protocol.js';

export type ModeName = 'serial' | 'batched';

export interface ModeFigures {
  turns: number;
  /** From the first message sent to the last reply received. */
  seconds: number;
  turns_per_s: number;
  /** Per turn: the message sent to its reply received. */
  p50_ms: number;
  p95_ms: number;
  event_loop_delay: EventLoopFigures;
  peak_rss_mb: number;
  /** Replies by kind; "error" counts error frames. */
  replies: Record<string, number>;
  /** Replies that arrived for another conversation than the one asked. */
  crossed: number;
}

export interface LoadReport {
  benchmark: 'load';
  date: string;
  machine: MachineFacts & { load_average_start: number[]; load_average_end: number[] };
  workload: string;
  settings: { sizes: number[]; messages: number; batched_max_concurrent_generations: number };
  sizes: { conversations: number; serial: ModeFigures; batched: ModeFigures; batched_over_serial: { turns_per_s: number; p95: number } }[];
  targets: Record<string, { target: string; measured: unknown }>;
}
