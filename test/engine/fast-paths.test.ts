/**
 * The engine's fast paths compute what the plain ones would: in-place logits processing, lazy
 * temperature, the fast log-sum-exp, in-place cache row moves; and forward passes are as few and as
 * small as the design says (counted through a wrapper around the real session).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeamJob } from '../../core/engine/beam.js';
import { SamplingJob, type DecodeContext } from '../../core/engine/decode.js';
import { loadEngine, type DialogueEngine } from '../../core/engine/index.js';
import { RowProcessor } from '../../core/engine/logits.js';
import { logSumExp, mulberry32, SamplerScratch, sampleToken, topKIndices } from '../../core/engine/sampling.js';
import { scorePairs } from '../../core/engine/score.js';
import type { Decoder } from '../../core/engine/decoder.js';
import { planRowMoves, type KvCache } from '../../core/engine/kv-cache.js';
import { Tensor } from 'onnxruntime-node';
import { decodeAlone, FIXTURE, openDecoder, PLAIN, type RunCall } from './helpers.js';

function randomRow(length: number, seed: number, spread = 12): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => (random() - 0.5) * spread);
}

describe('logSumExp', () => {
  it('matches a float64 Math.exp reference to 1e-9 relative, with wide ranges and banned tokens', () => {
    for (const [seed, spread] of [[1, 1], [2, 12], [3, 200], [4, 2000]]) {
      const row = randomRow(50257, seed, spread);
      row[17] = -Infinity;
      let max = -Infinity;
      for (const value of row) max = Math.max(max, value);
      let sum = 0;
      for (const value of row) sum += Math.exp(value - max);
      const reference = max + Math.log(sum);
      expect(Math.abs(logSumExp(row) - reference)).toBeLessThan(1e-9 * Math.max(1, Math.abs(reference)));
    }
    expect(logSumExp(new Float32Array(4).fill(-Infinity))).toBe(-Infinity);
  });
});

describe('topKIndices', () => {
  it('breaks ties by the smaller index', () => {
    const row = Float32Array.from([1, 5, 3, 5, 5, 2, 3]);
    const out = new Int32Array(7);
    expect(Array.from(out.subarray(0, topKIndices(row, 4, out)))).toEqual([1, 3, 4, 2]);
  });
});

describe('sampleToken with temperature applied to the top-k survivors only', () => {
  it('draws the same tokens as sampling from a fully tempered copy, and leaves the row unchanged', () => {
    const vocab = 3000;
    for (let seed = 1; seed <= 40; seed++) {
      const row = randomRow(vocab, seed);
      const before = Float32Array.from(row);
      const temperature = [0.3, 0.8, 1.7][seed % 3];
      const tempered = row.map((value) => value / temperature);
      for (const [topK, topP] of [[40, 1], [10, 0.6], [1, 1]]) {
        const lazy = sampleToken(row, { temperature, topK, topP }, mulberry32(seed), new SamplerScratch(vocab));
        const eager = sampleToken(tempered, { temperature: 1, topK, topP }, mulberry32(seed), new SamplerScratch(vocab));
        expect(lazy).toBe(eager);
      }
      expect(row).toEqual(before);
    }
  });
});

describe('RowProcessor in place', () => {
  it('applies penalty, n-gram ban and end-token ban, then restores the raw row bit for bit', () => {
    const row = randomRow(100, 9);
    row[5] = 2;
    row[6] = -2;
    const raw = Float32Array.from(row);
    const processor = new RowProcessor(100, [5, 6], { repetitionPenalty: 2, noRepeatNgramSize: 2, minNewTokens: 10 }, new Set([99]));
    // Generated 7 8 ... 7: the bigram (7, 8) exists, so 8 is banned after a 7.
    const generated = [7, 8, 6, 7];
    expect(processor.apply(row, generated)).toBe(true);
    expect(row[5]).toBe(1);
    expect(row[6]).toBe(-4);
    expect(row[7]).toBeCloseTo(raw[7] > 0 ? raw[7] / 2 : raw[7] * 2, 6);
    expect(row[8]).toBe(-Infinity);
    expect(row[99]).toBe(-Infinity);
    expect(row[50]).toBe(raw[50]);
    // The processed row's normaliser follows from the raw row's mass and the changes' delta.
    const max = Math.max(...raw);
    let rawMass = 0;
    for (const value of raw) rawMass += Math.exp(value - max);
    expect(max + Math.log(rawMass + processor.massDelta(max))).toBeCloseTo(logSumExp(row), 8);
    processor.restore();
    expect(row).toEqual(raw);
    const plain = new RowProcessor(100, [5], { repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0 }, new Set([99]));
    expect(plain.apply(row, generated)).toBe(false);
  });
});

describe('planRowMoves', () => {
  it('copies only rows that change, parking a row only to break a cycle', () => {
    expect(planRowMoves([0, 1, 2])).toEqual([]);
    // Beams 1-3 continue beams 0-2: a chain, three copies, no parking.
    expect(planRowMoves([0, 0, 1, 2])).toEqual([
      { from: 2, to: 3 },
      { from: 1, to: 2 },
      { from: 0, to: 1 },
    ]);
    // Two beams swap: one is parked in scratch slot 0 (written -1).
    expect(planRowMoves([1, 0])).toEqual([
      { from: 0, to: -1 },
      { from: 1, to: 0 },
      { from: -1, to: 1 },
    ]);
  });
});

describe('forward passes and cache rows on the fixture', () => {
  let engine: DialogueEngine;
  let decoder: Decoder;
  let context: DecodeContext;
  let prompt: number[];
  const calls: RunCall[] = [];
  beforeAll(async () => {
    engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail', spinning: true });
    decoder = await openDecoder(calls);
    context = { vocabSize: engine.info.vocabSize, endTokens: new Set(engine.info.endTokens), contextWindow: engine.info.contextWindow };
    prompt = engine.encodeTurns([{ role: 'user', text: 'Tell me about the highest mountain.' }]);
  });
  afterAll(async () => {
    await engine.dispose();
    await decoder.release();
  });

  it('prefills once, then steps only the candidates still running (short replies do not pay for long ones)', async () => {
    calls.length = 0;
    const candidates = await decodeAlone(decoder, new SamplingJob(context, prompt, { ...PLAIN, numCandidates: 16, maxNewTokens: 24, seed: 5 }), context.contextWindow);
    expect(calls[0]).toEqual({ batch: 1, seq: prompt.length });
    const steps = calls.slice(1);
    expect(steps.every((call) => call.seq === 1)).toBe(true);
    // Candidate c chose n tokens (end token included): it was in the batch of n - 1 steps after the prefill.
    const chosen = candidates.map((c) => c.tokens.length + (c.finished ? 1 : 0));
    expect(steps.reduce((sum, call) => sum + call.batch, 0)).toBe(chosen.reduce((sum, n) => sum + n - 1, 0));
    expect(steps.length).toBe(Math.max(...chosen) - 1);
    for (let i = 1; i < steps.length; i++) expect(steps[i].batch).toBeLessThanOrEqual(steps[i - 1].batch);
    expect(steps.at(-1)!.batch).toBeLessThan(16);
  });

  it('runs beam search at batch width after the prefill', async () => {
    calls.length = 0;
    await decodeAlone(decoder, new BeamJob(context, prompt, { ...PLAIN, strategy: 'beam', beamWidth: 4, numCandidates: 4, maxNewTokens: 10, minNewTokens: 10 }), context.contextWindow);
    expect(calls[0]).toEqual({ batch: 1, seq: prompt.length });
    expect(calls.length).toBe(10);
    expect(calls.slice(1).every((call) => call.batch === 4 && call.seq === 1)).toBe(true);
  });

  it('scores 16 pairs in one batched forward pass over the padded pairs', async () => {
    calls.length = 0;
    const pairs = Array.from({ length: 16 }, (_, i) => ({
      context: Array.from({ length: 40 + i }, (_, j) => (j * 7 + i) % 500),
      continuation: Array.from({ length: 5 + (i % 6) }, (_, j) => (j * 13 + i) % 500),
    }));
    await scorePairs({ decoder, contextWindow: engine.info.contextWindow, bosToken: engine.info.endTokens[0] }, pairs);
    const width = Math.max(...pairs.map((pair) => pair.context.length + pair.continuation.length));
    expect(calls).toEqual([{ batch: 16, seq: width }]);
  });

  it('selects cache rows in place, returning the cache itself for all rows in order', () => {
    const rowSize = decoder.shape.kvHeads * 3 * decoder.shape.headDim;
    const makeCache = (batch: number): KvCache => {
      const buffers = Array.from({ length: 2 * decoder.shape.layers }, (_, t) => Float32Array.from({ length: batch * rowSize }, (_, i) => t * 1e6 + i));
      const tensors = buffers.map((data) => new Tensor('float32', data, [batch, decoder.shape.kvHeads, 3, decoder.shape.headDim]));
      return { tensors, batch, lengths: new Array<number>(batch).fill(2), capacity: 3, buffers, rowCapacity: batch };
    };
    const same = makeCache(4);
    expect(decoder.selectRows(same, [0, 1, 2, 3])).toBe(same);
    for (const rows of [[2, 0, 1, 3], [0, 2, 3], [1, 1, 0, 3], [3, 2], [0, 0, 0, 0, 0, 0], [2], [1, 0, 3, 2], [3, 2, 1, 0], [0, 0, 1, 2]]) {
      const cache = makeCache(4);
      const expected = cache.tensors.map((tensor) => {
        const data = tensor.data as Float32Array;
        return rows.flatMap((row) => Array.from(data.subarray(row * rowSize, (row + 1) * rowSize)));
      });
      const selected = decoder.selectRows(cache, rows);
      expect(selected.batch).toBe(rows.length);
      expect(selected.lengths).toEqual(rows.map(() => 2));
      selected.tensors.forEach((tensor, t) => {
        expect(tensor.dims).toEqual([rows.length, decoder.shape.kvHeads, 3, decoder.shape.headDim]);
        expect(Array.from(tensor.data as Float32Array)).toEqual(expected[t]);
      });
      decoder.dispose(selected);
    }
  });
});
