/**
 * The engine in a worker thread (`thread: 'worker'`): the same candidates and scores as in this
 * thread, aborts and input errors cross back as the engine's own errors, and a disposed engine
 * says so. The worker needs compiled JavaScript, so the project is compiled for this file first
 * (test/helpers/children.ts) and the engine is loaded from there.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as EngineModule from '../../core/engine/index.js';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { compileChildren, type CompiledChildren } from '../helpers/children.js';
import { FIXTURE, PLAIN } from './helpers.js';

let compiled: CompiledChildren;
let inWorker: LoadedDialogueEngine;
let here: LoadedDialogueEngine;
let compiledEngine: typeof EngineModule;

beforeAll(async () => {
  compiled = compileChildren();
  compiledEngine = (await import(join(compiled.dir, 'core/engine/index.js'))) as typeof EngineModule;
  const progress: string[] = [];
  inWorker = await compiledEngine.loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail', thread: 'worker', onProgress: (message) => progress.push(message) });
  here = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
  // Loading progress crosses from the worker.
  expect(progress.some((line) => line.startsWith('model ready on cpu'))).toBe(true);
}, 300_000);

afterAll(async () => {
  await inWorker?.dispose();
  await here?.dispose();
  compiled?.remove();
});

const prompts = ['Hello there!', 'What is the highest mountain in the world?', 'Recommend me a song.'];

describe('an engine in a worker thread', () => {
  it('runs in a worker and gives what the engine in this thread gives, concurrent calls batched', async () => {
    expect(inWorker.constructor.name).toBe('WorkerDialogueEngine');
    expect(inWorker.info).toEqual(here.info);
    const encoded = prompts.map((text) => here.encodeTurns([{ role: 'user', text }]));
    const options = [
      { ...PLAIN, numCandidates: 4, seed: 3, topK: 20, topLogprobs: 2 },
      { ...PLAIN, strategy: 'greedy' as const },
      { ...PLAIN, strategy: 'beam' as const, beamWidth: 3, numCandidates: 2, maxNewTokens: 8 },
    ];
    const streamed: number[] = [];
    const [worker, local] = await Promise.all([
      Promise.all(encoded.map((prompt, i) => inWorker.generate(prompt, options[i], i === 0 ? { onToken: (token) => streamed.push(token.token) } : {}))),
      Promise.all(encoded.map((prompt, i) => here.generate(prompt, options[i]))),
    ]);
    expect(worker).toEqual(local);
    // Every token the first call chose was streamed back, each once.
    expect(streamed.sort()).toEqual(worker[0].flatMap((candidate) => candidate.tokens).sort());
    const pairs = encoded.map((prompt, i) => ({ context: prompt, continuation: encoded[(i + 1) % 3] }));
    expect(await inWorker.score(pairs)).toEqual(await here.score(pairs));
  });

  it('ends an aborted generation with DecodeAbortedError and an impossible one with EngineInputError', async () => {
    const prompt = here.encodeTurns([{ role: 'user', text: prompts[0] }]);
    const controller = new AbortController();
    const long = inWorker.generate(prompt, { ...PLAIN, minNewTokens: 100, maxNewTokens: 100 }, {
      signal: controller.signal,
      onToken: () => controller.abort(new Error('deadline')),
    });
    await expect(long).rejects.toMatchObject({ name: 'DecodeAbortedError' });
    await expect(inWorker.generate([], PLAIN)).rejects.toMatchObject({ name: 'EngineInputError', message: 'cannot generate from an empty prompt' });
    // The worker still serves after both.
    expect(await inWorker.generate(prompt, { ...PLAIN, numCandidates: 1 })).toHaveLength(1);
  });

  it('refuses calls once disposed', async () => {
    const engine = await compiledEngine.loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail', thread: 'worker' });
    await engine.dispose();
    await expect(engine.score([{ context: [1], continuation: [2] }])).rejects.toMatchObject({ name: 'EngineWorkerError' });
  });
});
