/**
 * Beam search over the shared prompt cache. Beams are ranked by the sum of log-softmax of the
 * PROCESSED scores (penalties applied, no temperature); a hypothesis ending with the end token is
 * final when it ranks within the top `beamWidth` of its step, and the search stops once
 * `beamWidth` hypotheses are final (so width 1 is exactly greedy decoding).
 */
import { newTokenBudget, type DecodeContext, type DecodeJob, type RawCandidate } from './decode.js';
import { RowProcessor } from './logits.js';
import { logSumExp, mostLikely, topKIndices } from './sampling.js';
import type { DecodeOptions, TokenLogprob } from './types.js';

interface Beam {
  tokens: number[];
  /** Ranking score: summed processed log-probabilities. */
  processed: number;
  /** Summed raw log-probabilities (what candidates report). */
  raw: number;
  /** Raw log-probability of each token (what candidates report per token). */
  steps: number[];
  /** With `topLogprobs`: the most likely tokens at each step. */
  top?: TokenLogprob[][];
}

/** A beam extended by one token; `tokens` and `steps` are still the parent's (shared) until it is chosen. */
interface Expansion extends Beam {
  parent: number;
  token: number;
  step: number;
}

interface Hypothesis extends RawCandidate {
  score: number;
}

/**
 * log-normaliser of a processed row from the raw row's mass and the changes' mass delta (both as
 * sums of exp(value - reference)); when the changes removed most of the mass, the subtraction would
 * lose precision, so the row is summed anew.
 */
function processedLogNorm(processed: Float32Array, reference: number, rawMass: number, delta: number): number {
  const mass = rawMass + delta;
  return mass >= 0.01 * rawMass ? reference + Math.log(mass) : logSumExp(processed);
}

export class BeamJob implements DecodeJob {
  readonly reserve: number;
  private readonly maxNew: number;
  private readonly width: number;
  private readonly processor: RowProcessor;
  private beams: Beam[];
  private readonly final: Hypothesis[] = [];
  private step = 0;
  // Per beam, 2 * width expansions are enough: at most `width` of them can be end tokens taking slots.
  private readonly indices: Int32Array;
  private readonly processedValues: Float64Array;
  private readonly topIndices: Int32Array;

  constructor(
    private readonly context: DecodeContext,
    readonly prompt: readonly number[],
    private readonly options: DecodeOptions,
  ) {
    this.width = Math.max(1, Math.floor(options.beamWidth));
    this.maxNew = newTokenBudget(context, prompt, options.maxNewTokens);
    this.reserve = prompt.length + this.maxNew;
    this.processor = new RowProcessor(context.vocabSize, prompt, options, context.endTokens);
    this.indices = new Int32Array(2 * this.width);
    this.processedValues = new Float64Array(2 * this.width);
    this.topIndices = new Int32Array(Math.max(1, options.topLogprobs ?? 0));
    this.beams = [{ tokens: [], processed: 0, raw: 0, steps: [], ...((options.topLogprobs ?? 0) > 0 ? { top: [] } : {}) }];
  }

  private normalised(sum: number, length: number): number {
    return sum / Math.max(1, length) ** this.options.lengthPenalty;
  }

  advance(rows: readonly Float32Array[], logNorms: readonly number[]): number[] {
    const { processor, indices, processedValues } = this;
    const perBeam = 2 * this.width;
    const expansions: Expansion[] = [];
    this.beams.forEach((beam, parent) => {
      const raw = rows[parent];
      // Masses are taken relative to the raw log-normaliser (mass 1).
      const reference = logNorms[parent];
      const top = beam.top ? [...beam.top, mostLikely(raw, reference, this.options.topLogprobs!, this.topIndices)] : undefined;
      // Processors change the row in place; its raw values come back with `restore`.
      const changed = processor.apply(raw, beam.tokens);
      const logNorm = changed ? processedLogNorm(raw, reference, 1, processor.massDelta(reference)) : reference;
      const count = topKIndices(raw, perBeam, indices);
      for (let i = 0; i < count; i++) processedValues[i] = raw[indices[i]];
      processor.restore();
      for (let i = 0; i < count; i++) {
        const token = indices[i];
        const step = raw[token] - reference;
        expansions.push({
          parent,
          token,
          tokens: beam.tokens,
          processed: beam.processed + processedValues[i] - logNorm,
          raw: beam.raw + step,
          step,
          steps: beam.steps,
          top,
        });
      }
    });
    expansions.sort((a, b) => b.processed - a.processed);

    const next: Expansion[] = [];
    for (const [rank, expansion] of expansions.entries()) {
      if (next.length === this.width) break;
      const steps = [...expansion.steps, expansion.step];
      if (!this.context.endTokens.has(expansion.token)) next.push({ ...expansion, tokens: [...expansion.tokens, expansion.token], steps });
      else if (rank < this.width) {
        const length = expansion.tokens.length + 1;
        this.final.push({ ...candidateOf({ ...expansion, steps }, expansion.token), score: this.normalised(expansion.processed, length) });
      }
    }
    this.beams = next;
    const done = this.final.length >= this.width || next.length === 0 || this.step + 1 >= this.maxNew;
    this.step++;
    // Rows whose beam kept its slot stay in place; only the others are copied.
    return done ? [] : next.map((expansion) => expansion.parent);
  }

  nextTokens(): number[] {
    return this.beams.map((beam) => beam.tokens.at(-1)!);
  }

  result(): RawCandidate[] {
    const unfinished: Hypothesis[] = this.beams.map((beam) => ({ ...candidateOf(beam), score: this.normalised(beam.processed, beam.tokens.length) }));
    const wanted = Math.min(this.width, Math.max(1, Math.floor(this.options.numCandidates)));
    const byScore = (a: Hypothesis, b: Hypothesis) => b.score - a.score;
    // Final hypotheses first; unfinished beams only fill up when too few ended within maxNewTokens.
    const chosen = [...this.final.sort(byScore), ...unfinished.sort(byScore)].slice(0, wanted).sort(byScore);
    return chosen.map(({ score: _score, ...candidate }) => candidate);
  }
}

/** A beam as a candidate; a finished one's steps end with its end token's. */
function candidateOf(beam: Beam, endToken?: number): RawCandidate {
  return {
    tokens: beam.tokens,
    logprob: beam.raw,
    finished: endToken !== undefined,
    ...(endToken === undefined ? {} : { endToken }),
    tokenLogprobs: beam.steps,
    ...(beam.top ? { topLogprobs: beam.top } : {}),
  };
}
