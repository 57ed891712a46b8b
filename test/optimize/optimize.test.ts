/**
 * `optimizeModelFolder` on the Llama-family fixtures (copies in a temporary folder): the slot-cache
 * graph it writes gives the standard graph's logits on inputs of the test's own (prefill, cached
 * steps, left-padded batch), torch's logits for fp32, runs in the engine's SlotCacheDecoder, holds no
 * copy of the weights; folders it cannot convert get an error that says why and keep no file.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../core/engine/index.js';
import { DataType, decodeModel } from '../../core/engine/onnx-proto.js';
import { DTYPE_SUFFIXES, optimizeModelFolder, tolerance, type OptimizeDtype, type OptimizeResult } from '../../core/engine/optimize/index.js';
import { standardGraphShape } from '../../core/engine/optimize/standard-graph.js';
import { compareGraphs, SlotCache } from '../../core/engine/optimize/verify.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const SOURCE_FILES: Record<OptimizeDtype, string> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q4: 'model_q4.onnx', q4f16: 'model_q4f16.onnx' };
const CASES: { folder: string; dtype: OptimizeDtype; source?: string }[] = [
  { folder: 'tiny-llama', dtype: 'fp32' },
  { folder: 'tiny-llama', dtype: 'fp16' },
  { folder: 'tiny-llama', dtype: 'q4' },
  { folder: 'tiny-llama', dtype: 'q4f16' },
  { folder: 'tiny-qwen2', dtype: 'fp32' },
  { folder: 'tiny-gemma', dtype: 'fp32' },
  { folder: 'tiny-phi3', dtype: 'fp32' },
  { folder: 'tiny-llama-merged', dtype: 'fp32', source: 'decoder_model_merged.onnx' },
];
const SESSION: InferenceSession.SessionOptions = { logSeverityLevel: 3, intraOpNumThreads: 1 };

const temporaries: string[] = [];
function copyOf(folder: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `banter-optimize-${folder}-`));
  cpSync(path.join(FIXTURES, folder), dir, { recursive: true });
  temporaries.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporaries) rmSync(dir, { recursive: true, force: true });
});

describe.each(CASES)('$folder $dtype', ({ folder, dtype, source }) => {
  let dir: string;
  let result: OptimizeResult;
  let before: string[];
  const slotFile = () => path.join(dir, 'onnx', `decoder_slot_cache${DTYPE_SUFFIXES[dtype]}.onnx`);
  const sourceFile = () => path.join(dir, 'onnx', source ?? SOURCE_FILES[dtype]);

  beforeAll(async () => {
    dir = copyOf(folder);
    before = readdirSync(path.join(dir, 'onnx'));
    result = await optimizeModelFolder(dir, { dtype });
  }, 120_000);

  it('writes one small graph that reads the weights from the source files', () => {
    expect(result.written).toEqual([slotFile()]);
    expect(readdirSync(path.join(dir, 'onnx')).sort()).toEqual([...before, path.basename(slotFile())].sort());
    expect(result.maxLogitDiff).toBeLessThanOrEqual(result.tolerance);
    const model = decodeModel(readFileSync(slotFile()));
    const sourceNames = new Set(before);
    const shared = model.graph.initializer.filter((t) => t.data_location === 1);
    expect(shared.length).toBeGreaterThan(0);
    for (const tensor of shared) expect(sourceNames.has(tensor.external_data!.find((e) => e.key === 'location')!.value)).toBe(true);
    // Only small constants (shapes, scalars, rotary frequencies, 4-bit scales of a few blocks) are copied.
    for (const tensor of model.graph.initializer) expect(tensor.raw_data?.length ?? 0).toBeLessThan(1024);
    expect(statSync(slotFile()).size).toBeLessThan(32 * 1024);
  });

  it("gives the standard graph's logits on other inputs (left-padded batch, prefill, cached steps)", async () => {
    const standard = await InferenceSession.create(sourceFile(), SESSION);
    const slot = await InferenceSession.create(slotFile(), SESSION);
    const floatType = standardGraphShape(standard).cacheType === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
    const comparison = await compareGraphs(standard, slot, { tokens: 400, seed: 99, lengths: [5, 1, 7, 3], steps: 4 });
    expect(comparison.positions).toBe(5 + 1 + 7 + 3 + 4 * 4);
    expect(comparison.maxLogitDiff).toBeLessThanOrEqual(tolerance(floatType, comparison.maxLogit));
    expect(comparison.maxLogNormDiff).toBeLessThanOrEqual(tolerance(floatType, comparison.maxLogit));
    await standard.release();
    await slot.release();
  });

  // Torch's logits are float32: the other dtypes are checked against their own standard graph above.
  if (dtype === 'fp32') it("gives torch's logits (expected.json)", async () => {
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { prompt_ids: number[]; last_logits: number[] };
    const slot = await InferenceSession.create(slotFile(), SESSION);
    const standard = await InferenceSession.create(sourceFile(), SESSION);
    const ids = expected.prompt_ids;
    const cache = new SlotCache(slot, standardGraphShape(standard), 1, ids.length + 2);
    const { logits } = await cache.step([ids], [ids.map(() => 1)], [ids.map((_, i) => i)]);
    const vocab = expected.last_logits.length;
    const last = logits.subarray((ids.length - 1) * vocab, ids.length * vocab);
    const worst = expected.last_logits.reduce((most, value, i) => Math.max(most, Math.abs(value - last[i])), 0);
    expect(worst).toBeLessThan(1e-4);
    await slot.release();
    await standard.release();
  });
});

describe('the engine on a converted folder', () => {
  it('runs the slot-cache graph and decodes and scores as on the standard graph', async () => {
    const dir = copyOf('tiny-llama');
    await optimizeModelFolder(dir);
    const slot = await loadEngine(dir, { device: 'cpu', fallback: 'fail' });
    const standard = await loadEngine(path.join(FIXTURES, 'tiny-llama'), { device: 'cpu', fallback: 'fail' });
    expect([slot.graph, standard.graph]).toEqual(['slot-cache', 'standard']);
    const prompt = slot.encodeMessages([{ role: 'user', content: 'Hello there, how are you?' }], { addGenerationPrompt: true });
    const options = { strategy: 'sample' as const, numCandidates: 4, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, maxNewTokens: 10, beamWidth: 1, lengthPenalty: 1, seed: 4 };
    for (const decoding of [options, { ...options, strategy: 'beam' as const, beamWidth: 3, numCandidates: 3 }]) {
      const [a, b] = await Promise.all([slot.generate(prompt, decoding), standard.generate(prompt, decoding)]);
      expect(a.map((c) => c.tokens)).toEqual(b.map((c) => c.tokens));
      a.forEach((candidate, i) => expect(candidate.logprob).toBeCloseTo(b[i].logprob, 3));
    }
    const pairs = [{ context: prompt, continuation: [5, 17, 42] }, { context: prompt.slice(0, 4), continuation: [99, 7] }];
    const [sa, sb] = await Promise.all([slot.score(pairs), standard.score(pairs)]);
    sa.forEach((score, i) => expect(score).toBeCloseTo(sb[i], 3));
    await Promise.all([slot.dispose(), standard.dispose()]);
  });
});

describe('folders the converter cannot convert', () => {
  const withConfig = (folder: string, change: (config: Record<string, unknown>) => void) => {
    const dir = copyOf(folder);
    const file = path.join(dir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    change(config);
    writeFileSync(file, JSON.stringify(config));
    return dir;
  };

  it('refuses a model type it has no graph for', async () => {
    await expect(optimizeModelFolder(copyOf('tiny-gpt2'))).rejects.toThrow(/model_type "gpt2" is not supported .*llama, mistral, qwen2, gemma, phi3/);
  });

  it('names the files it has when the asked dtype is missing', async () => {
    await expect(optimizeModelFolder(copyOf('tiny-qwen2'), { dtype: 'fp16' })).rejects.toThrow(/no fp16 decoder .*model_fp16\.onnx.*the folder has model\.onnx/);
  });

  it('refuses a folder without config.json', async () => {
    const dir = copyOf('tiny-llama');
    rmSync(path.join(dir, 'config.json'));
    await expect(optimizeModelFolder(dir)).rejects.toThrow(/no config\.json/);
  });

  it('refuses a graph whose layers disagree with config.json', async () => {
    const dir = withConfig('tiny-llama', (config) => (config.num_hidden_layers = 3));
    await expect(optimizeModelFolder(dir)).rejects.toThrow(/2 layers of past_key_values, config\.json says 3/);
  });

  it('refuses rotary scalings it does not implement', async () => {
    const dir = withConfig('tiny-llama', (config) => (config.rope_scaling = { rope_type: 'yarn', factor: 4 }));
    await expect(optimizeModelFolder(dir)).rejects.toThrow(/rope_scaling type "yarn" is not supported/);
  });

  it('keeps nothing when the logits differ (a config that does not match the weights)', async () => {
    const dir = withConfig('tiny-llama', (config) => (config.rope_theta = 10000));
    const before = readdirSync(path.join(dir, 'onnx')).sort();
    await expect(optimizeModelFolder(dir)).rejects.toThrow(/logits differ from model\.onnx's by .*nothing was written/);
    expect(readdirSync(path.join(dir, 'onnx')).sort()).toEqual(before);
    expect(existsSync(path.join(dir, 'onnx', 'decoder_slot_cache.onnx'))).toBe(false);
  });
});
