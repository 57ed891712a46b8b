/** banter's engine, through its public API, exactly as the bot calls it. */
import { loadEngine, type DecodeOptions } from '../../../core/engine/index.js';
import type { BenchDevice, Threads, Workload } from '../types.js';
import { expectedTokens, expectTokens, type BenchSystem } from './system.js';

const NEUTRAL: Omit<DecodeOptions, 'strategy' | 'numCandidates' | 'minNewTokens' | 'maxNewTokens'> = {
  temperature: 1,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
  beamWidth: 1,
  lengthPenalty: 1,
};

export async function createBanterSystem(modelDir: string, workload: Workload, threads: Threads, device: BenchDevice = 'cpu'): Promise<BenchSystem> {
  const engine = await loadEngine(modelDir, {
    device,
    fallback: 'fail',
    // The file every system reads (transformers.js is asked for fp32 too).
    dtype: 'fp32',
    intraOpThreads: threads.intraOp,
    interOpThreads: threads.interOp,
    spinning: threads.spinning,
  });
  const expected = expectedTokens(workload);
  const run = async (seed: number): Promise<number> => {
    switch (workload.kind) {
      case 'sample': {
        const { candidates, sampling } = workload;
        const generated = await engine.generate(workload.prompt, {
          ...NEUTRAL,
          strategy: 'sample',
          numCandidates: candidates,
          temperature: sampling.temperature,
          topK: sampling.topK,
          minNewTokens: sampling.newTokens,
          maxNewTokens: sampling.newTokens,
          seed,
        });
        return generated.reduce((sum, candidate) => sum + candidate.tokens.length, 0);
      }
      case 'beam': {
        const generated = await engine.generate(workload.prompt, {
          ...NEUTRAL,
          strategy: 'beam',
          numCandidates: workload.width,
          beamWidth: workload.width,
          minNewTokens: workload.newTokens,
          maxNewTokens: workload.newTokens,
          seed,
        });
        // Every beam advanced newTokens steps; the engine returns the best `width` of them.
        return generated.length * (generated[0]?.tokens.length ?? 0);
      }
      case 'score': {
        const scores = await engine.score(workload.pairs);
        if (scores.some((score) => !Number.isFinite(score))) throw new Error('banter returned a non-finite score');
        return workload.pairs.reduce((sum, pair) => sum + pair.continuation.length, 0);
      }
    }
  };
  return {
    run: async (seed) => expectTokens('banter', await run(seed), expected),
    dispose: () => engine.dispose(),
  };
}
