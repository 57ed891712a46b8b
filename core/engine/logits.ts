/**
 * Applies the decoding options' logits processors to one row IN PLACE: they touch a handful of
 * tokens (seen tokens, banned n-gram ends, the end token), so copying the whole vocabulary row for
 * them would cost more than the changes. Every change is logged and `restore` undoes it, so the row
 * holds the raw logits again for log-probabilities.
 */
import { forEachRepeatedNgramEnd } from './sampling.js';
import type { DecodeOptions } from './types.js';

export type ProcessorOptions = Pick<DecodeOptions, 'repetitionPenalty' | 'noRepeatNgramSize' | 'minNewTokens'>;

export class RowProcessor {
  private readonly stamps: Int32Array;
  private stamp = 0;
  private readonly promptTokens: number[];
  /** Undo log of the current row: token, then its value before the change. */
  private changedTokens: number[] = [];
  private changedValues: number[] = [];
  private row: Float32Array | null = null;

  constructor(
    vocabSize: number,
    prompt: readonly number[],
    private readonly options: ProcessorOptions,
    private readonly endTokens: ReadonlySet<number>,
  ) {
    this.stamps = new Int32Array(vocabSize);
    this.promptTokens = [...new Set(prompt)];
  }

  /**
   * Applies repetition penalty, n-gram ban and min-new-tokens to `row` in place (restoring the
   * previous row first); returns whether anything changed.
   */
  apply(row: Float32Array, generated: readonly number[]): boolean {
    this.restore();
    this.row = row;
    const set = (token: number, value: number) => {
      this.changedTokens.push(token);
      this.changedValues.push(row[token]);
      row[token] = value;
    };
    const { repetitionPenalty, noRepeatNgramSize, minNewTokens } = this.options;
    if (repetitionPenalty !== 1) {
      // Every seen token (prompt and generated) is penalised once: stamps mark those already done.
      this.stamp++;
      const penalise = (token: number) => {
        if (this.stamps[token] === this.stamp) return;
        this.stamps[token] = this.stamp;
        const value = row[token];
        set(token, value > 0 ? value / repetitionPenalty : value * repetitionPenalty);
      };
      for (const token of this.promptTokens) penalise(token);
      for (const token of generated) penalise(token);
    }
    // N-grams are banned within the candidate only: echoing a phrase of the user's is allowed.
    forEachRepeatedNgramEnd(generated, noRepeatNgramSize, (token) => set(token, -Infinity));
    if (generated.length < minNewTokens) for (const token of this.endTokens) set(token, -Infinity);
    return this.changedTokens.length > 0;
  }

  /**
   * How much the changes moved the row's exp-mass, relative to `max`: the sum over changed tokens
   * of exp(now - max) - exp(before - max). Lets a caller holding the raw row's mass get the
   * processed row's without another pass over the vocabulary.
   */
  massDelta(max: number): number {
    const row = this.row;
    if (!row) return 0;
    const counted = new Set<number>();
    let delta = 0;
    // The first log entry of a token holds its raw value.
    this.changedTokens.forEach((token, i) => {
      if (counted.has(token)) return;
      counted.add(token);
      delta += Math.exp(row[token] - max) - Math.exp(this.changedValues[i] - max);
    });
    return delta;
  }

  /** Puts back the raw values of the row given to `apply` (latest change undone first). */
  restore(): void {
    const row = this.row;
    if (!row) return;
    for (let i = this.changedTokens.length - 1; i >= 0; i--) row[this.changedTokens[i]] = this.changedValues[i];
    this.changedTokens.length = 0;
    this.changedValues.length = 0;
    this.row = null;
  }
}
