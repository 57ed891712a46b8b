/**
 * `@huggingface/transformers` (v4) on the same model folder, offline, as a Node user would call it.
 * v4's `generate()` ignores `num_return_sequences` and `num_beams` (its search loop keeps one token per
 * row: "TODO: Support beam search"), so N candidates are N copies of the prompt in one batch, and
 * beam search is reported as unsupported.
 */
import { basename, dirname, resolve } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, random, Tensor } from '@huggingface/transformers';
import { spinningConfig } from '../../../core/engine/session.js';
import type { BenchDevice, Threads, Workload } from '../types.js';
import { expectedTokens, expectTokens, type BenchSystem, type Unsupported } from './system.js';

export const BEAM_UNSUPPORTED =
  'transformers.js v4 generate() does not implement beam search: num_beams > 1 still returns one greedy sequence per row';

function int64(rows: number[][], width: number): Tensor {
  return new Tensor('int64', BigInt64Array.from(rows.flatMap((row) => row.map(BigInt))), [rows.length, width]);
}

export async function createTransformersJsSystem(
  modelDir: string,
  workload: Workload,
  threads: Threads,
  device: BenchDevice = 'cpu',
): Promise<BenchSystem | Unsupported> {
  if (workload.kind === 'beam') return { unsupported: BEAM_UNSUPPORTED };
  env.allowRemoteModels = false;
  env.localModelPath = dirname(resolve(modelDir));
  const name = basename(resolve(modelDir));
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForCausalLM.from_pretrained(name, {
    dtype: 'fp32',
    // On webgpu it keeps its present outputs in GPU memory itself (preferredOutputLocation 'gpu-buffer').
    device,
    session_options: {
      intraOpNumThreads: threads.intraOp,
      interOpNumThreads: threads.interOp,
      graphOptimizationLevel: 'all',
      extra: spinningConfig(threads.spinning),
    },
  });
  const expected = expectedTokens(workload);

  const run = async (seed: number): Promise<number> => {
    if (workload.kind === 'sample') {
      const { prompt, candidates, sampling } = workload;
      const rows = Array.from({ length: candidates }, () => prompt);
      random.seed(seed);
      const output = (await model.generate({
        input_ids: int64(rows, prompt.length),
        attention_mask: int64(rows.map((row) => row.map(() => 1)), prompt.length),
        do_sample: true,
        top_k: sampling.topK,
        top_p: 1,
        temperature: sampling.temperature,
        repetition_penalty: 1,
        no_repeat_ngram_size: 0,
        max_new_tokens: sampling.newTokens,
        min_new_tokens: sampling.newTokens,
      } as Parameters<typeof model.generate>[0])) as Tensor;
      const generated = output.slice(null, [prompt.length, output.dims[1]]);
      tokenizer.batch_decode(generated, { skip_special_tokens: true });
      return generated.dims[0] * generated.dims[1];
    }
    // One batched forward pass over the left-padded pairs, then log-softmax at each continuation token.
    const sequences = workload.pairs.map((pair) => [...pair.context, ...pair.continuation]);
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const padded = sequences.map((sequence) => [...new Array<number>(width - sequence.length).fill(0), ...sequence]);
    const mask = sequences.map((sequence) => [...new Array<number>(width - sequence.length).fill(0), ...sequence.map(() => 1)]);
    const { logits } = (await model({ input_ids: int64(padded, width), attention_mask: int64(mask, width) })) as { logits: Tensor };
    const vocab = logits.dims[2];
    const data = logits.data as Float32Array;
    let scored = 0;
    workload.pairs.forEach((pair, row) => {
      let sum = 0;
      for (let i = width - pair.continuation.length; i < width; i++) {
        const offset = (row * width + i - 1) * vocab;
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) max = Math.max(max, data[offset + v]);
        let total = 0;
        for (let v = 0; v < vocab; v++) total += Math.exp(data[offset + v] - max);
        sum += data[offset + padded[row][i]] - max - Math.log(total);
      }
      if (!Number.isFinite(sum)) throw new Error('transformers.js scoring gave a non-finite score');
      scored += pair.continuation.length;
    });
    return scored;
  };
  return {
    run: async (seed) => expectTokens('transformers.js', await run(seed), expected),
    dispose: async () => {
      await model.dispose();
    },
  };
}
