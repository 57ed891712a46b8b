/** Shapes shared by the engine benchmark's parent (harness) and its per-measurement child processes. */

export const SYSTEMS = ['banter', 'transformers.js', 'floor'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SCENARIOS = ['sample-1x32', 'sample-16x32', 'sample-64x32', 'score-16', 'beam-4x32'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What runs by default: on a GPU also 64 candidates, which should cost little more than 16 there. */
export const DEFAULT_SCENARIOS: Record<BenchDevice, readonly ScenarioName[]> = {
  cpu: ['sample-1x32', 'sample-16x32', 'score-16', 'beam-4x32'],
  webgpu: SCENARIOS,
  cuda: SCENARIOS,
};

/** The execution provider every system of a run uses. */
export const BENCH_DEVICES = ['cpu', 'webgpu', 'cuda'] as const;
export type BenchDevice = (typeof BENCH_DEVICES)[number];

/** Sampling settings every system uses; min = max new tokens so that no system stops early. */
export interface SamplingSettings {
  topK: number;
  temperature: number;
  newTokens: number;
}

/** The exact token inputs of one scenario, built once by the parent so that every system gets the same. */
export type Workload =
  | { kind: 'sample'; prompt: number[]; candidates: number; sampling: SamplingSettings }
  | { kind: 'beam'; prompt: number[]; width: number; newTokens: number }
  | { kind: 'score'; pairs: { context: number[]; continuation: number[] }[] };

export interface Threads {
  intraOp: number;
  interOp: number;
  /** onnxruntime thread spinning, the same for every system (banter's engine default: off). */
  spinning: boolean;
}

/** One system's timed runs in one scenario, or why it cannot run the scenario. */
export type MeasureResult =
  | {
      status: 'measured';
      /** Wall time of each timed run. */
      runsMs: number[];
      /** Time inside onnxruntime's `InferenceSession.run` during each timed run. */
      sessionRunMs: number[];
      /** `session.run` calls per run. */
      sessionRunCalls: number;
      /** Tokens produced (generation) or scored (scoring) per run. */
      tokensPerRun: number;
      peakRssMb: number;
    }
  | { status: 'unsupported'; reason: string };

/** Figures of one system in one scenario, as written to the results JSON. */
export type SystemFigures =
  | {
      median_ms: number;
      p95_ms: number;
      tokens_per_s: number;
      peak_rss_mb: number;
      /** Median time per run inside `session.run`; the rest is the system's own work. */
      session_run_median_ms: number;
      session_run_calls: number;
      tokens_per_run: number;
      runs_ms: number[];
    }
  | { unsupported: string };
