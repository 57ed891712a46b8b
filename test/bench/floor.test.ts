/**
 * The benchmark's floor must make exactly banter's `session.run` calls (same graph, inputs and shapes),
 * or its ratio would compare different work. Both systems run on the fixture while every call's
 * input shapes are recorded: on the CPU every call, on WebGPU the decoder's (banter's row-joining and
 * scores helper sessions are its own work, which the floor leaves out).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenario, readModelFacts, type ModelFacts } from '../../bench/engine/scenarios.js';
import { createBanterSystem } from '../../bench/engine/systems/banter.js';
import { createFloorSystem } from '../../bench/engine/systems/floor.js';
import type { BenchSystem } from '../../bench/engine/systems/system.js';
import { SCENARIOS, type ScenarioName } from '../../bench/engine/types.js';
import { FIXTURE } from '../engine/helpers.js';
import { WEBGPU_REQUIRED, webGpuUnavailable } from '../engine/webgpu-env.js';

const THREADS = { intraOp: 1, interOp: 1, spinning: false };

let model: ModelFacts;
const calls: string[] = [];
let prototype: InferenceSession;
let run: InferenceSession['run'];

beforeAll(async () => {
  model = await readModelFacts(FIXTURE);
  // Every session shares the implementation's prototype: record each call's input names and dims.
  const probe = await InferenceSession.create(`${FIXTURE}/onnx/decoder_slot_cache.onnx`);
  prototype = Object.getPrototypeOf(probe) as InferenceSession;
  await probe.release();
  run = prototype.run;
  prototype.run = function (this: InferenceSession, ...args: Parameters<InferenceSession['run']>) {
    const feeds = args[0] as Record<string, Tensor>;
    calls.push(Object.keys(feeds).sort().map((name) => `${name}[${feeds[name].dims.join(',')}]`).join(' '));
    return run.apply(this, args);
  } as InferenceSession['run'];
});
afterAll(() => {
  prototype.run = run;
});

async function recordRun(system: BenchSystem): Promise<string[]> {
  await system.run(1); // warm, as the harness does
  calls.length = 0;
  await system.run(2);
  await system.dispose();
  return [...calls];
}

describe('the benchmark floor', () => {
  it.each(SCENARIOS.map((name) => [name]))('makes banter’s session.run calls in %s', async (name: ScenarioName) => {
    const { workload } = buildScenario(name, model, 1);
    const banter = await recordRun(await createBanterSystem(FIXTURE, workload, THREADS));
    const floor = await recordRun(await createFloorSystem(FIXTURE, workload, THREADS));
    expect(banter.length).toBeGreaterThan(0);
    expect(banter.every((call) => call.includes('cache.0.key'))).toBe(true);
    expect(floor).toEqual(banter);
  });
});

const webgpu = (await webGpuUnavailable()) === undefined || WEBGPU_REQUIRED;

describe.runIf(webgpu)('the benchmark floor on webgpu', () => {
  // The fixture runs on its slot-cache graph; a copy without it on the standard graph.
  const scratch = mkdtempSync(join(tmpdir(), 'banter-floor-'));
  const standardOnly = join(scratch, 'tiny-gpt2');
  cpSync(FIXTURE, standardOnly, { recursive: true });
  rmSync(join(standardOnly, 'onnx', 'decoder_slot_cache.onnx'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // 64 candidates on lavapipe only take longer: their shapes follow the same code as 16.
  const cases = SCENARIOS.filter((name) => name !== 'sample-64x32').flatMap((name) => [
    { name, dir: FIXTURE, graph: 'slot-cache', cache: 'cache.0.key' },
    { name, dir: standardOnly, graph: 'standard', cache: 'past_key_values.0.key' },
  ]);
  it.each(cases)('makes banter’s decoder calls in $name on the $graph graph', async ({ name, dir, cache }) => {
    const { workload } = buildScenario(name, await readModelFacts(dir), 1);
    const decoderCalls = (all: string[]) => all.filter((call) => call.includes('input_ids['));
    const banter = await recordRun(await createBanterSystem(dir, workload, THREADS, 'webgpu'));
    const floor = await recordRun(await createFloorSystem(dir, workload, THREADS, 'webgpu'));
    expect(decoderCalls(banter).length).toBeGreaterThan(0);
    expect(decoderCalls(banter).every((call) => call.includes(cache))).toBe(true);
    expect(floor).toEqual(decoderCalls(banter));
  });
});
