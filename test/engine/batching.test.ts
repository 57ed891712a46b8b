/**
 * Continuous batching: turns generating at the same time share decode passes, and every turn gets
 * exactly the candidates it gets alone with the same seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeamJob } from '../../core/engine/beam.js';
import { SamplingJob, type DecodeContext, type DecodeJob, type RawCandidate } from '../../core/engine/decode.js';
import type { Decoder, DecoderGraph } from '../../core/engine/decoder.js';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { DecodeAbortedError, DecodeScheduler } from '../../core/engine/scheduler.js';
import type { DecodeOptions, GeneratedCandidate } from '../../core/engine/types.js';
import { FIXTURE, openDecoder, PLAIN, type RunCall } from './helpers.js';

let engine: LoadedDialogueEngine;
beforeAll(async () => {
  engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
});
afterAll(() => engine.dispose());

const turns: { text: string; options: DecodeOptions }[] = [
  { text: 'Hello there!', options: { ...PLAIN, numCandidates: 6, seed: 1, maxNewTokens: 16 } },
  { text: 'What is the highest mountain in the world, and how tall is it?', options: { ...PLAIN, numCandidates: 4, seed: 2, temperature: 0.7, topK: 20 } },
  { text: 'Recommend me a song.', options: { ...PLAIN, strategy: 'beam', beamWidth: 3, numCandidates: 3, maxNewTokens: 10 } },
  { text: 'Tell me a story about a cat.', options: { ...PLAIN, strategy: 'greedy', maxNewTokens: 20 } },
  { text: 'Bye.', options: { ...PLAIN, numCandidates: 2, seed: 9, topP: 0.8, repetitionPenalty: 1.3, noRepeatNgramSize: 2 } },
];

describe.each<DecoderGraph>(['slot-cache', 'standard'])('the scheduler on the %s graph', (graph) => {
  let decoder: Decoder;
  const calls: RunCall[] = [];
  let context: DecodeContext;
  beforeAll(async () => {
    decoder = await openDecoder(calls, graph);
    context = { vocabSize: engine.info.vocabSize, endTokens: new Set(engine.info.endTokens), contextWindow: engine.info.contextWindow };
  });
  afterAll(() => decoder.release());

  const jobOf = (turn: (typeof turns)[number]): DecodeJob => {
    const prompt = engine.encodeTurns([{ role: 'user', text: turn.text }]);
    return turn.options.strategy === 'beam' ? new BeamJob(context, prompt, turn.options) : new SamplingJob(context, prompt, turn.options);
  };

  it('gives each turn the candidates it gets alone, while their decode steps share passes', async () => {
    const alone: RawCandidate[][] = [];
    for (const turn of turns) alone.push(await new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }).run(jobOf(turn)));
    calls.length = 0;
    const scheduler = new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }, { maxRows: 64, prefillChunk: 5 });
    const together = await Promise.all(turns.map((turn) => scheduler.run(jobOf(turn))));
    together.forEach((candidates, i) => {
      expect(candidates.map((c) => c.tokens)).toEqual(alone[i].map((c) => c.tokens));
      candidates.forEach((candidate, j) => expect(candidate.logprob).toBeCloseTo(alone[i][j].logprob, 4));
    });
    // Some decode pass held rows of several turns: more rows than any one turn has.
    const steps = calls.filter((call) => call.seq === 1);
    expect(Math.max(...steps.map((call) => call.batch))).toBeGreaterThan(6);
    // Prompts went in chunks of at most 5 tokens.
    expect(calls.filter((call) => call.seq > 1 && call.batch === 1).every((call) => call.seq <= 5)).toBe(true);
    expect(scheduler.rowsInFlight).toBe(0);
  });

  it('keeps a step within maxRows: a turn that does not fit waits, then decodes the same', async () => {
    calls.length = 0;
    const scheduler = new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }, { maxRows: 6, prefillChunk: 256 });
    const together = await Promise.all(turns.slice(0, 3).map((turn) => scheduler.run(jobOf(turn))));
    const alone = await new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }).run(jobOf(turns[1]));
    expect(together[1].map((c) => c.tokens)).toEqual(alone.map((c) => c.tokens));
    expect(calls.filter((call) => call.seq === 1).every((call) => call.batch <= 6)).toBe(true);
  });

  /** `job`, calling `atStep(n)` before its n-th advance (1: the prompt's logits). */
  const watch = (job: DecodeJob, atStep: (step: number) => void): DecodeJob => {
    let steps = 0;
    return {
      prompt: job.prompt,
      reserve: job.reserve,
      advance: (rows, norms) => {
        atStep(++steps);
        return job.advance(rows, norms);
      },
      nextTokens: () => job.nextTokens(),
      result: () => job.result(),
    };
  };
  const scoreContext = () => ({ decoder, contextWindow: context.contextWindow, bosToken: 0 });
  const aloneOf = (turn: (typeof turns)[number]) => new DecodeScheduler(decoder, scoreContext()).run(jobOf(turn));
  const sameTokens = (got: RawCandidate[], want: RawCandidate[]) => expect(got.map((c) => c.tokens)).toEqual(want.map((c) => c.tokens));

  it('gives turns that join mid-batch, with prompts of other lengths, what they get alone', async () => {
    const long = { text: `${'Tell me more about the mountains and the rivers of the north. '.repeat(3)}Why?`, options: { ...PLAIN, numCandidates: 5, seed: 4, maxNewTokens: 14 } };
    const joiners = [turns[1], long, turns[4]];
    const alone = [await aloneOf(turns[0]), ...(await Promise.all(joiners.map(aloneOf)))];
    // Candidates leave at different steps, so finished rows leave holes that other rows fill.
    expect(new Set(alone.flat().map((c) => c.tokens.length)).size).toBeGreaterThan(1);
    calls.length = 0;
    const scheduler = new DecodeScheduler(decoder, scoreContext(), { maxRows: 64, prefillChunk: 7 });
    const later: Promise<RawCandidate[]>[] = [];
    // The others arrive while the first turn decodes: at its 3rd and 6th steps.
    const first = scheduler.run(
      watch(jobOf(turns[0]), (step) => {
        if (step === 3) later.push(scheduler.run(jobOf(joiners[0])), scheduler.run(jobOf(joiners[1])));
        if (step === 6) later.push(scheduler.run(jobOf(joiners[2])));
      }),
    );
    const together = [await first, ...(await Promise.all(later))];
    together.forEach((candidates, i) => {
      sameTokens(candidates, alone[i]);
      candidates.forEach((candidate, j) => expect(candidate.logprob).toBeCloseTo(alone[i][j].logprob, 4));
    });
    // The long prompt went in chunks between decode steps, and steps held rows of several turns.
    expect(calls.some((call) => call.seq === 7 && call.batch === 1)).toBe(true);
    expect(Math.max(...calls.filter((call) => call.seq === 1).map((call) => call.batch))).toBeGreaterThan(6);
    expect(scheduler.rowsInFlight).toBe(0);
  });

  it('lets a turn in the middle of the batch leave when aborted, the rows around it decoding as alone', async () => {
    const scheduler = new DecodeScheduler(decoder, scoreContext());
    const controller = new AbortController();
    const middle = { ...turns[0], options: { ...turns[0].options, maxNewTokens: 40, minNewTokens: 40 } };
    const before = scheduler.run(jobOf(turns[1]));
    const aborted = scheduler.run(
      watch(jobOf(middle), (step) => step === 4 && controller.abort(new Error('deadline'))),
      controller.signal,
    );
    const after = scheduler.run(jobOf(turns[4]));
    await expect(aborted).rejects.toBeInstanceOf(DecodeAbortedError);
    sameTokens(await before, await aloneOf(turns[1]));
    sameTokens(await after, await aloneOf(turns[4]));
    expect(scheduler.rowsInFlight).toBe(0);
  });

  it('drops an aborted turn from the batch and lets the others finish', async () => {
    const scheduler = new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 });
    const controller = new AbortController();
    const long = jobOf({ ...turns[0], options: { ...turns[0].options, maxNewTokens: 60, minNewTokens: 60 } });
    // The deadline fires while the turn is in the batch: at its third step.
    let steps = 0;
    const watched: DecodeJob = {
      prompt: long.prompt,
      reserve: long.reserve,
      advance: (rows, norms) => {
        if (++steps === 3) controller.abort(new Error('deadline'));
        return long.advance(rows, norms);
      },
      nextTokens: () => long.nextTokens(),
      result: () => long.result(),
    };
    const aborted = scheduler.run(watched, controller.signal);
    const other = scheduler.run(jobOf(turns[1]));
    await expect(aborted).rejects.toBeInstanceOf(DecodeAbortedError);
    const alone = await new DecodeScheduler(decoder, { decoder, contextWindow: context.contextWindow, bosToken: 0 }).run(jobOf(turns[1]));
    expect((await other).map((c) => c.tokens)).toEqual(alone.map((c) => c.tokens));
  });
});

describe('the engine batches concurrent generate and score calls', () => {
  it('scores many pairs of mixed lengths, over several passes, as each pair alone and in the order given', async () => {
    const prompts = turns.map((turn) => engine.encodeTurns([{ role: 'user', text: turn.text }]));
    // 40 pairs of 8 to ~100 tokens: more positions than one pass holds, so they run in several.
    const pairs = Array.from({ length: 40 }, (_, i) => ({
      context: [...prompts[i % 5], ...prompts[(i + 1) % 5]].slice(0, 4 + ((i * 7) % 50)),
      continuation: [...prompts[(i + 2) % 5], ...prompts[(i + 3) % 5]].slice(0, 4 + ((i * 11) % 40)),
    }));
    const alone: number[] = [];
    for (const pair of pairs) alone.push(...(await engine.score([pair])));
    const together = await engine.score(pairs);
    together.forEach((score, i) => expect(score).toBeCloseTo(alone[i], 4));
  });

  it('returns what each call returns alone', async () => {
    const prompts = turns.map((turn) => engine.encodeTurns([{ role: 'user', text: turn.text }]));
    const alone: GeneratedCandidate[][] = [];
    for (const [i, turn] of turns.entries()) alone.push(await engine.generate(prompts[i], turn.options));
    const pairs = prompts.map((prompt) => ({ context: prompt, continuation: prompts[0] }));
    const scoresAlone: number[] = [];
    for (const pair of pairs) scoresAlone.push(...(await engine.score([pair])));
    const [generated, scored] = await Promise.all([
      Promise.all(turns.map((turn, i) => engine.generate(prompts[i], turn.options))),
      Promise.all(pairs.map((pair) => engine.score([pair]))),
    ]);
    generated.forEach((candidates, i) => expect(candidates.map((c) => c.text)).toEqual(alone[i].map((c) => c.text)));
    scored.flat().forEach((score, i) => expect(score).toBeCloseTo(scoresAlone[i], 4));
  });
});
