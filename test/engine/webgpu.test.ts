/**
 * The engine on `device: webgpu` (Dawn on Vulkan; in CI, Mesa's lavapipe) gives the CPU's candidates
 * and scores: seeded sampling, greedy and beam search, `score`, and several turns batched together,
 * on the GPT-2 fixture, the shipped banter-chat and the modern-family fixtures. There the key/value
 * cache stays in GPU memory (the GPU decoders, on the slot-cache graph where the folder has one, else
 * the standard graph); the CPU's decoders, which keep it in host memory, run on WebGPU too, each
 * through passes over no cached positions, joined batches, row moves and scoring. fp16 graphs
 * compute in half precision on the GPU (the CPU provider widens most fp16 operators to float32), so
 * they are held to half precision's bound against the fp32 model, not to the CPU's fp16 figures.
 *
 * Skipped, with the reason, only where there is no WebGPU adapter and CI is not set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceFacts } from '../../core/engine/device.js';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { createInferenceSession } from '../../core/engine/session.js';
import type { DecodeOptions, GeneratedCandidate, ModelDtype, ScorePair } from '../../core/engine/types.js';
import { exercise, maxDifference, openDecoder, type DecoderKind } from './decoder-workout.js';
import { FIXTURE, PLAIN } from './helpers.js';
import { WEBGPU_REQUIRED, webGpuUnavailable } from './webgpu-env.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const BANTER_CHAT = fileURLToPath(new URL('../../models/banter-chat', import.meta.url));
const TOLERANCE = 1e-4;

const unavailable = await webGpuUnavailable();
const runs = unavailable === undefined || WEBGPU_REQUIRED;
if (!runs) console.warn(`webgpu tests skipped: no WebGPU adapter here (${unavailable}); CI requires them`);

it.runIf(WEBGPU_REQUIRED)('has a WebGPU adapter (required under CI: .ci/run installs libvulkan1 and Mesa lavapipe)', () => {
  expect(unavailable).toBeUndefined();
});

const DECODING: Record<string, DecodeOptions> = {
  sample: { ...PLAIN, numCandidates: 6, maxNewTokens: 12, seed: 11, topK: 20, temperature: 0.9 },
  greedy: { ...PLAIN, strategy: 'greedy', numCandidates: 1, maxNewTokens: 12 },
  beam: { ...PLAIN, strategy: 'beam', beamWidth: 3, numCandidates: 3, maxNewTokens: 10 },
};

function expectSameCandidates(gpu: GeneratedCandidate[], cpu: GeneratedCandidate[]): void {
  expect(gpu.map((c) => c.tokens)).toEqual(cpu.map((c) => c.tokens));
  gpu.forEach((candidate, i) => expect(Math.abs(candidate.logprob - cpu[i].logprob)).toBeLessThan(TOLERANCE));
}

function expectSameScores(gpu: number[], cpu: number[]): void {
  expect(gpu).toHaveLength(cpu.length);
  gpu.forEach((score, i) => expect(Math.abs(score - cpu[i])).toBeLessThan(TOLERANCE));
}

/** Pairs with an empty context (BOS only), a one-token continuation and uneven lengths (padding). */
function scorePairs(prompt: number[]): ScorePair[] {
  return [
    { context: prompt, continuation: prompt.slice(1, 6) },
    { context: [], continuation: prompt.slice(0, 3) },
    { context: prompt.slice(0, 4), continuation: [prompt[4]] },
    { context: prompt.slice(2), continuation: prompt.slice(0, 8) },
  ];
}

interface ModelCase {
  name: string;
  dir: string;
  dtype?: ModelDtype;
}

const MODELS: ModelCase[] = [
  { name: 'tiny-gpt2', dir: FIXTURE },
  ...(existsSync(join(BANTER_CHAT, 'onnx', 'model.onnx')) ? [{ name: 'banter-chat', dir: BANTER_CHAT }] : []),
  { name: 'tiny-llama fp32', dir: join(FIXTURES, 'tiny-llama'), dtype: 'fp32' },
  { name: 'tiny-llama q4', dir: join(FIXTURES, 'tiny-llama'), dtype: 'q4' },
  { name: 'tiny-llama-merged', dir: join(FIXTURES, 'tiny-llama-merged'), dtype: 'fp32' },
  { name: 'tiny-qwen2', dir: join(FIXTURES, 'tiny-qwen2'), dtype: 'fp32' },
  { name: 'tiny-gemma', dir: join(FIXTURES, 'tiny-gemma'), dtype: 'fp32' },
  { name: 'tiny-phi3', dir: join(FIXTURES, 'tiny-phi3'), dtype: 'fp32' },
];

describe.runIf(runs).each(MODELS)('$name on webgpu', ({ dir, dtype }) => {
  let cpu: LoadedDialogueEngine;
  let gpu: LoadedDialogueEngine;
  let prompt: number[];
  const messages: string[] = [];
  beforeAll(async () => {
    cpu = await loadEngine(dir, { device: 'cpu', fallback: 'fail', dtype });
    gpu = await loadEngine(dir, { device: 'webgpu', fallback: 'fail', dtype, onProgress: (message) => messages.push(message) });
    prompt = cpu.encodeTurns([{ role: 'user', text: 'Hello! What is the highest mountain in the world?' }]);
  });
  afterAll(async () => {
    await cpu?.dispose();
    await gpu?.dispose();
  });

  it('runs the CPU’s graph (the slot-cache graph where the folder has one) with its key/value cache in GPU memory', () => {
    expect(gpu.device).toBe('webgpu');
    expect(gpu.graph).toBe(cpu.graph);
    expect(gpu.info.dtype).toBe(cpu.info.dtype);
    expect(messages.at(-1)).toContain('key/value cache in GPU memory');
  });

  it.each(Object.keys(DECODING))('%s decoding gives the CPU’s candidates and log-probabilities', async (strategy) => {
    const options = DECODING[strategy];
    expectSameCandidates(await gpu.generate(prompt, options), await cpu.generate(prompt, options));
  });

  it('scores pairs as the CPU does', async () => {
    const pairs = scorePairs(prompt);
    expectSameScores(await gpu.score(pairs), await cpu.score(pairs));
  });

  it('batches turns decoding at the same time, each with the CPU’s candidates', async () => {
    const turns = [
      { prompt, options: DECODING.sample },
      { prompt: prompt.slice(3), options: { ...DECODING.sample, numCandidates: 2, seed: 5 } },
      { prompt: prompt.slice(0, 6), options: DECODING.beam },
      { prompt: prompt.slice(1), options: DECODING.greedy },
    ];
    const [onGpu, onCpu] = await Promise.all([gpu, cpu].map((engine) => Promise.all(turns.map((turn) => engine.generate(turn.prompt, turn.options)))));
    onGpu.forEach((candidates, i) => expectSameCandidates(candidates, onCpu[i]));
  });
});

describe.runIf(runs)('half precision on webgpu (tiny-llama fp16)', () => {
  const dir = join(FIXTURES, 'tiny-llama');
  let reference: LoadedDialogueEngine;
  let cpu16: LoadedDialogueEngine;
  let gpu16: LoadedDialogueEngine;
  let pairs: ScorePair[];
  /**
   * float16's spacing near the model's largest logits (11 significant bits: 2 ** -10 of the value).
   * A log-probability is a difference of logits, so its rounding error scales with them, not with it.
   */
  let halfStep: number;
  beforeAll(async () => {
    reference = await loadEngine(dir, { device: 'cpu', fallback: 'fail', dtype: 'fp32' });
    cpu16 = await loadEngine(dir, { device: 'cpu', fallback: 'fail', dtype: 'fp16' });
    gpu16 = await loadEngine(dir, { device: 'webgpu', fallback: 'fail', dtype: 'fp16' });
    const prompt = reference.encodeTurns([{ role: 'user', text: 'Hello! Tell me about the mountains and the sea, please.' }]);
    pairs = prompt.slice(1).map((token, i) => ({ context: prompt.slice(0, i + 1), continuation: [token] }));
    const decoder = await openDecoder(dir, 'standard', 'cpu');
    const { logits } = await decoder.logitsOnly({
      inputIds: BigInt64Array.from(prompt, BigInt),
      batch: 1,
      seq: prompt.length,
      attentionMask: new BigInt64Array(prompt.length).fill(1n),
      positionIds: BigInt64Array.from(prompt.keys(), BigInt),
    });
    await decoder.release();
    halfStep = 2 ** -10 * logits.reduce((most, value) => Math.max(most, Math.abs(value)), 0);
  });
  afterAll(async () => {
    for (const engine of [reference, cpu16, gpu16]) await engine?.dispose();
  });

  it('runs with a float16 cache in GPU memory', () => {
    expect([gpu16.device, gpu16.info.dtype, gpu16.graph]).toEqual(['webgpu', 'fp16', 'standard']);
  });

  it('scores every token within a few float16 steps of the fp32 model, as the CPU’s fp16 does', async () => {
    const [exact, cpuHalf, gpuHalf] = await Promise.all([reference, cpu16, gpu16].map((engine) => engine.score(pairs)));
    const worst = (values: number[]) => Math.max(...values.map((value, i) => Math.abs(value - exact[i])));
    expect(worst(cpuHalf)).toBeLessThan(8 * halfStep);
    expect(worst(gpuHalf)).toBeLessThan(8 * halfStep);
  });

  it('decodes with its cache what a full recompute scores, on 16-bit rows moved and joined on the GPU', async () => {
    const prompt = pairs.at(-1)!.context;
    // Alone (rows expanded, beams reordered), then turns of different lengths batched (rows padded and joined).
    const turns = [
      { prompt, options: DECODING.sample },
      { prompt, options: DECODING.beam },
      { prompt: prompt.slice(4), options: { ...DECODING.sample, numCandidates: 2, seed: 3 } },
      { prompt: prompt.slice(0, 5), options: DECODING.beam },
    ];
    const decoded = [await gpu16.generate(turns[0].prompt, turns[0].options), await gpu16.generate(turns[1].prompt, turns[1].options)];
    decoded.push(...(await Promise.all(turns.map((turn) => gpu16.generate(turn.prompt, turn.options)))));
    const prompts = [turns[0].prompt, turns[1].prompt, ...turns.map((turn) => turn.prompt)];
    for (const [i, candidates] of decoded.entries()) {
      const rescored = await gpu16.score(candidates.map((c) => ({ context: prompts[i], continuation: c.tokens })));
      candidates.forEach((candidate, j) => expect(Math.abs(candidate.logprob - rescored[j])).toBeLessThan(8 * halfStep * candidate.tokens.length));
    }
  });
});

const KINDS: DecoderKind[] = ['slot-cache', 'standard', 'gpu-standard', 'gpu-slot-cache'];

describe.runIf(runs)('decoders on webgpu', () => {
  const dirs = [FIXTURE, ...(existsSync(join(BANTER_CHAT, 'onnx', 'decoder_slot_cache.onnx')) ? [BANTER_CHAT] : [])];
  let reference: Map<string, Float32Array[]>;
  beforeAll(async () => {
    reference = new Map();
    for (const dir of dirs) {
      const decoder = await openDecoder(dir, 'standard', 'cpu');
      reference.set(dir, await exercise(decoder));
      await decoder.release();
    }
  });

  it.each(dirs.flatMap((dir) => KINDS.map((kind) => ({ dir, kind, name: dir.split('/').at(-1) }))))(
    '$name: the $kind decoder’s passes (the first over no cached positions) match the CPU’s',
    async ({ dir, kind }) => {
      const decoder = await openDecoder(dir, kind, 'webgpu');
      const locations = new Set<string>();
      const logits = await exercise(decoder, (cache) => cache.tensors.forEach((tensor: Tensor) => locations.add(tensor.location)));
      await decoder.release();
      const expected = reference.get(dir)!;
      expect(logits).toHaveLength(expected.length);
      logits.forEach((pass, i) => expect(maxDifference(pass, expected[i])).toBeLessThan(TOLERANCE));
      // Only the GPU decoders leave the cache in GPU memory between passes.
      expect([...locations]).toEqual([kind.startsWith('gpu') ? 'gpu-buffer' : 'cpu']);
    },
  );
});

describe.runIf(runs)('GPU memory held at release', () => {
  // A device tensor freed after the session that made it was released crashes the process: the GPU
  // decoders free what they still hold first, so a cache given up late is harmless.
  it.each(['gpu-standard', 'gpu-slot-cache'] as const)('the %s decoder frees a cache still held when it is released', async (kind) => {
    const decoder = await openDecoder(FIXTURE, kind, 'webgpu');
    const { cache } = await decoder.forward(null, [[5, 9, 14]], 8);
    const moved = decoder.selectRows(cache, [0, 0]);
    const { cache: stepped } = await decoder.forward(moved, [[3], [4]]);
    expect(stepped.tensors.every((tensor: Tensor) => tensor.location === 'gpu-buffer')).toBe(true);
    await decoder.release();
    // Already freed by release: giving it up now frees nothing twice (and does not crash).
    decoder.dispose(stepped);
    expect(stepped.tensors.every((tensor: Tensor) => tensor.location === 'none')).toBe(true);
  });
});

describe.runIf(runs)('auto where there is GPU hardware', () => {
  it('picks webgpu when the machine has a GPU device and a Vulkan adapter', async () => {
    const messages: string[] = [];
    const facts = { ...deviceFacts(), gpuNodes: ['/dev/dri/renderD128'] };
    const { session, device } = await createInferenceSession(join(FIXTURE, 'onnx', 'model.onnx'), { device: 'auto', onProgress: (m) => messages.push(m) }, { facts });
    await session.release();
    expect(device).toBe('webgpu');
    if (!facts.cudaLibrary) expect(messages).toEqual([expect.stringMatching(/^auto: skipping cuda: onnxruntime-node has no CUDA provider library/)]);
  });
});
