/**
 * The engine benchmark: for each model and scenario, one child process per system holds the system
 * set up; the parent interleaves their warmups and timed runs and gathers figures and ratios.
 */
import { MeasuringChild } from './child.js';
import { loadAverage, machineFacts, type MachineFacts } from './machine.js';
import { buildScenario, readModelFacts, SAMPLING, type ModelFacts } from './scenarios.js';
import { median, quantile, round } from './stats.js';
import type { SetupRequest } from './protocol.js';
import { DEVICE_OUTPUT_DEVICES } from '../../core/engine/session.js';
import type { BenchDevice, MeasureResult, ScenarioName, SystemFigures, SystemName, Threads } from './types.js';

export interface BenchOptions {
  modelDirs: string[];
  systems: SystemName[];
  scenarios: ScenarioName[];
  threads: Threads;
  /** The execution provider of every system. */
  device: BenchDevice;
  warmup: number;
  runs: number;
  seed: number;
  /**
   * All systems of a scenario in one child process (their runs still interleaved): no difference
   * of process state or placement between them, at the price of a shared peak RSS.
   */
  sameProcess: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface ScenarioResult {
  name: ScenarioName;
  description: string;
  systems: Partial<Record<SystemName, SystemFigures>>;
  ratios: {
    /** banter tokens/s over transformers.js tokens/s (> 1: banter is faster). */
    banter_vs_transformers_js_speedup: number | null;
    /** banter median time over the floor's (1 = no overhead over bare session.run). */
    banter_vs_floor_time: number | null;
    /**
     * banter median time over its own time inside session.run, measured in the same runs: its own
     * work's share, which a loaded machine distorts far less than a ratio across two processes.
     */
    banter_vs_own_session_run_time: number | null;
  };
}

export interface ModelResult {
  name: string;
  path: string;
  params: number;
  params_millions: number;
  layers: number;
  heads: number;
  hidden: number;
  vocab_size: number;
  context_window: number;
  /** The ONNX graph each system ran: banter and the floor the slot-cache graph when the folder has one. */
  graphs: Record<SystemName, 'slot-cache' | 'standard'>;
  scenarios: ScenarioResult[];
}

export interface BenchResults {
  benchmark: 'engine';
  date: string;
  machine: MachineFacts & { load_average_start: number[]; load_average_end: number[] };
  settings: {
    device: BenchDevice;
    threads: { intra_op: number; inter_op: number; spinning: boolean };
    graph_optimization: 'all';
    /** All systems of a scenario in one child process (peak_rss_mb is then that process's, shared). */
    same_process: boolean;
    warmup_runs: number;
    timed_runs: number;
    seed: number;
    sampling: { top_k: number; temperature: number; min_new_tokens: number; max_new_tokens: number };
    notes: string[];
  };
  models: ModelResult[];
}

const PROCESS_NOTE = 'Each (model, scenario, system) runs in its own child process; peak_rss_mb is that process\'s maxRSS (model load included).';
const SAME_PROCESS_NOTE =
  'same_process: all systems of a (model, scenario) run in one child process; peak_rss_mb is that shared process\'s maxRSS (all systems loaded).';

const NOTES = [
  'min_new_tokens = max_new_tokens = 32: the end token is suppressed, so no system stops early and all do equal work.',
  'Prompts are seeded pseudo-random token ids (never the end token), identical for every system; run i uses seed + i in every system.',
  'transformers.js v4 ignores num_return_sequences, so its N candidates are N copies of the prompt in one batch (prefilled N times); banter prefills once and shares the cache.',
  'floor: bare InferenceSession.run on the graph banter runs (models.graphs), inputs built before timing, at banter\'s call sequence and shapes (prefill batch 1, then batch N x 1 steps: on the slot-cache graph over pre-built, filled cache buffers; on the standard graph feeding present back as past; scoring: one padded batch).',
  'transformers.js runs the standard graph onnx/model.onnx, the only one it reads; banter and the floor run onnx/decoder_slot_cache.onnx (same weights) where the folder has it.',
  'tokens/s: generated tokens over all candidates (beam: width x steps; scoring: scored candidate tokens) per second of median wall time.',
  PROCESS_NOTE,
  'Runs are interleaved: round r runs every system once (seed + r), so load changes on the machine slow all systems alike.',
  'session_run_median_ms: time inside onnxruntime InferenceSession.run; median_ms minus it is the system\'s own JS work.',
  'transformers.js runs its top-k as a small onnxruntime session per row and step, so its session_run figures include that sampling work (and its call count is 1 + rows per step).',
  'transformers.js v4 does not implement beam search (num_beams > 1 returns one greedy sequence per row): beam-4x32 is unsupported for it.',
];

/** What differs on a GPU that keeps outputs in its memory (WebGPU). */
const DEVICE_NOTES = [
  'GPU run: every system uses the same execution provider; banter keeps its key/value cache in GPU memory: on the slot-cache graph (models.graphs) a ScatterND helper session writes each pass\'s new entries there, on the standard graph its presents are fed back as past and a helper session brings back float32 logits and log-normalisers; rows are joined and reordered there by a Gather/Pad/Concat helper session.',
  'transformers.js on webgpu keeps its present outputs in GPU memory too (preferredOutputLocation gpu-buffer), on the standard graph.',
  'floor on the GPU: banter\'s decoder calls with the cache in GPU memory and logits bound to host memory; on the slot-cache graph its steps read one filled cache put there before the clock starts (no writes), on the standard graph presents are fed back as past after an untimed batch-N pass over the prompt.',
];

interface SystemRuns {
  child: MeasuringChild;
  runsMs: number[];
  sessionRunMs: number[];
  sessionRunCalls: number;
  tokensPerRun: number;
}

/**
 * Measures every system on one workload with their runs interleaved: round r runs each system once
 * (starting with a different system each round), so a change of load on the machine during the
 * scenario slows all systems alike instead of biasing their ratios.
 */
async function measureInterleaved(
  systems: SystemName[],
  setup: (system: SystemName) => Omit<SetupRequest, 'type'>,
  options: BenchOptions,
  label: string,
): Promise<Partial<Record<SystemName, MeasureResult>>> {
  const results: Partial<Record<SystemName, MeasureResult>> = {};
  const running = new Map<SystemName, SystemRuns>();
  const children = new Set<MeasuringChild>();
  const shared = options.sameProcess ? MeasuringChild.spawn(label) : undefined;
  try {
    for (const system of systems) {
      const child = shared ?? MeasuringChild.spawn(`${label} · ${system}`);
      children.add(child);
      const unsupported = await child.setup(setup(system));
      if (unsupported) {
        results[system] = { status: 'unsupported', reason: unsupported.unsupported };
        if (!shared) await child.finish();
        if (!shared) children.delete(child);
      } else {
        running.set(system, { child, runsMs: [], sessionRunMs: [], sessionRunCalls: 0, tokensPerRun: 0 });
      }
    }
    const order = [...running.keys()];
    for (let round = 0; round < options.warmup + options.runs; round++) {
      for (let i = 0; i < order.length; i++) {
        const system = order[(round + i) % order.length];
        const runs = running.get(system)!;
        const ran = await runs.child.run(system, options.seed + round);
        if (round < options.warmup) continue;
        runs.runsMs.push(ran.ms);
        runs.sessionRunMs.push(ran.sessionRunMs);
        runs.sessionRunCalls = ran.sessionRunCalls;
        runs.tokensPerRun = ran.tokens;
      }
    }
    const peaks = new Map<MeasuringChild, number>();
    for (const child of children) {
      peaks.set(child, await child.finish());
      children.delete(child);
    }
    for (const [system, runs] of running) results[system] = { status: 'measured', ...runs, peakRssMb: peaks.get(runs.child)! };
  } finally {
    // After a failure: end the children still alive (their own processes, started above).
    for (const child of children) child.kill();
  }
  return results;
}

function figuresOf(result: MeasureResult): SystemFigures {
  if (result.status === 'unsupported') return { unsupported: result.reason };
  const medianMs = median(result.runsMs);
  return {
    median_ms: round(medianMs),
    p95_ms: round(quantile(result.runsMs, 0.95)),
    tokens_per_s: round(result.tokensPerRun / (medianMs / 1000)),
    peak_rss_mb: round(result.peakRssMb, 1),
    session_run_median_ms: round(median(result.sessionRunMs)),
    session_run_calls: result.sessionRunCalls,
    tokens_per_run: result.tokensPerRun,
    runs_ms: result.runsMs.map((ms) => round(ms, 1)),
  };
}

function ratiosOf(systems: ScenarioResult['systems']): ScenarioResult['ratios'] {
  const measured = (name: SystemName) => {
    const figures = systems[name];
    return figures && !('unsupported' in figures) ? figures : undefined;
  };
  const banter = measured('banter');
  const transformers = measured('transformers.js');
  const floor = measured('floor');
  return {
    banter_vs_transformers_js_speedup: banter && transformers ? round(banter.tokens_per_s / transformers.tokens_per_s, 3) : null,
    banter_vs_floor_time: banter && floor ? round(banter.median_ms / floor.median_ms, 3) : null,
    banter_vs_own_session_run_time: banter ? round(banter.median_ms / banter.session_run_median_ms, 3) : null,
  };
}

function modelResult(model: ModelFacts, scenarios: ScenarioResult[]): ModelResult {
  const banterGraph = model.slotCacheGraph ? 'slot-cache' : 'standard';
  return {
    name: model.name,
    path: model.path,
    params: model.params,
    params_millions: round(model.params / 1e6, 1),
    layers: model.layers,
    heads: model.heads,
    hidden: model.hidden,
    vocab_size: model.vocabSize,
    context_window: model.contextWindow,
    graphs: { banter: banterGraph, 'transformers.js': 'standard', floor: banterGraph },
    scenarios,
  };
}

export async function runEngineBenchmark(options: BenchOptions): Promise<BenchResults> {
  const loadStart = loadAverage();
  const machine = await machineFacts();
  const models: ModelResult[] = [];
  for (const modelDir of options.modelDirs) {
    const model = await readModelFacts(modelDir);
    const scenarios: ScenarioResult[] = [];
    for (const name of options.scenarios) {
      const scenario = buildScenario(name, model, options.seed);
      const label = `${model.name} · ${name}`;
      options.log(`${label}: ${options.systems.join(', ')} interleaved, ${options.warmup} warmup + ${options.runs} timed runs each`);
      const measured = await measureInterleaved(
        options.systems,
        (system) => ({ system, modelDir: model.path, workload: scenario.workload, threads: options.threads, device: options.device }),
        options,
        label,
      );
      const systems: ScenarioResult['systems'] = {};
      for (const system of options.systems) {
        const figures = figuresOf(measured[system]!);
        systems[system] = figures;
        options.log('unsupported' in figures ? `  ${system}: unsupported: ${figures.unsupported}` : `  ${system}: median ${figures.median_ms} ms, ${figures.tokens_per_s} tokens/s`);
      }
      scenarios.push({ name, description: scenario.description, systems, ratios: ratiosOf(systems) });
    }
    models.push(modelResult(model, scenarios));
  }
  return {
    benchmark: 'engine',
    date: new Date().toISOString(),
    machine: { ...machine, load_average_start: loadStart, load_average_end: loadAverage() },
    settings: {
      device: options.device,
      threads: { intra_op: options.threads.intraOp, inter_op: options.threads.interOp, spinning: options.threads.spinning },
      graph_optimization: 'all',
      same_process: options.sameProcess,
      warmup_runs: options.warmup,
      timed_runs: options.runs,
      seed: options.seed,
      sampling: { top_k: SAMPLING.topK, temperature: SAMPLING.temperature, min_new_tokens: SAMPLING.newTokens, max_new_tokens: SAMPLING.newTokens },
      notes: [
        ...(options.sameProcess ? NOTES.map((note) => (note === PROCESS_NOTE ? SAME_PROCESS_NOTE : note)) : NOTES),
        ...(DEVICE_OUTPUT_DEVICES.has(options.device) ? DEVICE_NOTES : []),
      ],
    },
    models,
  };
}
