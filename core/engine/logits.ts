/** Applies the decoding options' logits processors to one row, in reused buffers. */
import { banRepeatedNgrams } from './sampling.js';
import type { DecodeOptions } from './types.js';

export type ProcessorOptions = Pick<DecodeOptions, 'repetitionPenalty' | 'noRepeatNgramSize' | 'minNewTokens'>;

export class RowProcessor {
  /** Processed scores of the current row (valid until the next `process`). */
  readonly scores: Float32Array;
  /** Scratch space for top-k / top-p selections. */
  readonly indices: Int32Array;
  private readonly stamps: Int32Array;
  private stamp = 0;
  private readonly promptTokens: number[];

  constructor(
    vocabSize: number,
    prompt: readonly number[],
    private readonly options: ProcessorOptions,
    private readonly endToken: number,
  ) {
    this.scores = new Float32Array(vocabSize);
    this.indices = new Int32Array(vocabSize);
    this.stamps = new Int32Array(vocabSize);
    this.promptTokens = [...new Set(prompt)];
  }

  /** Copies `raw` into `scores` and applies repetition penalty, n-gram ban and min-new-tokens. */
  process(raw: Float32Array, generated: readonly number[]): Float32Array {
    const scores = this.scores;
    scores.set(raw);
    const { repetitionPenalty, noRepeatNgramSize, minNewTokens } = this.options;
    if (repetitionPenalty !== 1) {
      // Every seen token (prompt and generated) is penalised once: stamps mark those already done.
      this.stamp++;
      const penalise = (token: number) => {
        if (this.stamps[token] === this.stamp) return;
        this.stamps[token] = this.stamp;
        const value = scores[token];
        scores[token] = value > 0 ? value / repetitionPenalty : value * repetitionPenalty;
      };
      for (const token of this.promptTokens) penalise(token);
      for (const token of generated) penalise(token);
    }
    // N-grams are banned within the candidate only: echoing a phrase of the user's is allowed.
    banRepeatedNgrams(scores, generated, noRepeatNgramSize);
    if (generated.length < minNewTokens) scores[this.endToken] = -Infinity;
    return scores;
  }
}
