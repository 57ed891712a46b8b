/**
 * The GPU decoders' own logic (standard graph and slot-cache graph), on the CPU provider so that it
 * runs on every machine: rows selected (expanded, reordered, repeated, dropped) and caches joined
 * lazily, then done by a Gather/Pad/Concat helper session right before the next pass; the slot
 * graph's new entries written by a ScatterND helper; float32 logits with log-normalisers. Their
 * passes must give the standard decoder's logits, and a scheduler on them the candidates of the
 * slot-cache decoder, for turns alone and batched. (test/engine/webgpu.test.ts runs the same on
 * WebGPU, where their cache stays in GPU memory.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeamJob } from '../../core/engine/beam.js';
import { SamplingJob, type DecodeContext, type DecodeJob, type RawCandidate } from '../../core/engine/decode.js';
import type { Decoder } from '../../core/engine/decoder.js';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { DecodeScheduler } from '../../core/engine/scheduler.js';
import { logSumExp } from '../../core/engine/sampling.js';
import { exercise, maxDifference, openDecoder } from './decoder-workout.js';
import { FIXTURE, PLAIN } from './helpers.js';

describe('the GPU decoder on the CPU provider', () => {
  let standard: Decoder;
  let gpus: Decoder[];
  let engine: LoadedDialogueEngine;
  beforeAll(async () => {
    standard = await openDecoder(FIXTURE, 'standard', 'cpu');
    gpus = [await openDecoder(FIXTURE, 'gpu-standard', 'cpu'), await openDecoder(FIXTURE, 'gpu-slot-cache', 'cpu')];
    engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
  });
  afterAll(async () => {
    await standard.release();
    for (const gpu of gpus) await gpu.release();
    await engine.dispose();
  });

  it.each([0, 1])('gives the standard decoder’s logits through prefills, joined batches, row moves and scoring (%#: standard, slot graph)', async (index) => {
    const expected = await exercise(standard);
    const logits = await exercise(gpus[index]);
    expect(logits).toHaveLength(expected.length);
    logits.forEach((pass, i) => expect(maxDifference(pass, expected[i])).toBeLessThan(1e-4));
  });

  it('returns each position’s log-normaliser with the logits', async () => {
    const tokens = [5, 9, 14, 2, 7];
    const gpu = gpus[0];
    const { scores, cache } = await gpu.forward(null, [tokens, tokens.slice().reverse()], 8);
    gpu.dispose(cache);
    const vocab = gpu.shape.vocabSize;
    expect(scores.logNorms).toHaveLength(2 * tokens.length);
    for (let i = 0; i < 2 * tokens.length; i++) expect(scores.logNorms![i]).toBeCloseTo(logSumExp(scores.logits.subarray(i * vocab, (i + 1) * vocab)), 4);
  });

  it('decodes the slot-cache decoder’s candidates, turns alone and batched, on both graphs', async () => {
    const slot = await openDecoder(FIXTURE, 'slot-cache', 'cpu');
    const context: DecodeContext = { vocabSize: engine.info.vocabSize, endTokens: new Set(engine.info.endTokens), contextWindow: engine.info.contextWindow };
    const turns = [
      { text: 'Hello there!', options: { ...PLAIN, numCandidates: 6, seed: 1, maxNewTokens: 16 } },
      { text: 'What is the highest mountain in the world?', options: { ...PLAIN, numCandidates: 3, seed: 2, topK: 20 } },
      { text: 'Recommend me a song.', options: { ...PLAIN, strategy: 'beam' as const, beamWidth: 3, numCandidates: 3, maxNewTokens: 10 } },
      { text: 'Bye.', options: { ...PLAIN, strategy: 'greedy' as const, numCandidates: 1 } },
    ];
    const jobOf = (turn: (typeof turns)[number]): DecodeJob => {
      const prompt = engine.encodeTurns([{ role: 'user', text: turn.text }]);
      return turn.options.strategy === 'beam' ? new BeamJob(context, prompt, turn.options) : new SamplingJob(context, prompt, turn.options);
    };
    const scheduler = (decoder: Decoder) => new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }, { maxRows: 64, prefillChunk: 6 });
    const run = async (decoder: Decoder, batched: boolean): Promise<RawCandidate[][]> => {
      if (batched) {
        const shared = scheduler(decoder);
        return Promise.all(turns.map((turn) => shared.run(jobOf(turn))));
      }
      const alone: RawCandidate[][] = [];
      for (const turn of turns) alone.push(await scheduler(decoder).run(jobOf(turn)));
      return alone;
    };
    const expected = await run(slot, false);
    for (const [gpu, batched] of gpus.flatMap((gpu) => [[gpu, false], [gpu, true]] as const)) {
      const got = await run(gpu, batched);
      got.forEach((candidates, i) => {
        expect(candidates.map((c) => c.tokens)).toEqual(expected[i].map((c) => c.tokens));
        candidates.forEach((candidate, j) => expect(Math.abs(candidate.logprob - expected[i][j].logprob)).toBeLessThan(1e-4));
      });
    }
    await slot.release();
  });
});
