/**
 * Beam search over the shared prompt cache. Beams are ranked by the sum of log-softmax of the
 * PROCESSED scores (penalties applied, no temperature); a hypothesis ending with the end token is
 * final when it ranks within the top `beamWidth` of its step, and the search stops once
 * `beamWidth` hypotheses are final (so width 1 is exactly greedy decoding).
 */
import { newTokenBudget, prefill, stepBatch, type DecodeContext, type RawCandidate } from './decode.js';
import { RowProcessor } from './logits.js';
import { logSumExp, maxOf, sumExpBelow, topKIndices } from './sampling.js';
import type { DecodeOptions } from './types.js';

interface Beam {
  tokens: number[];
  /** Ranking score: summed processed log-probabilities. */
  processed: number;
  /** Summed raw log-probabilities (what candidates report). */
  raw: number;
}

interface Expansion extends Beam {
  parent: number;
  token: number;
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

export async function beamSearch(context: DecodeContext, prompt: readonly number[], options: DecodeOptions): Promise<RawCandidate[]> {
  const { decoder, endTokens } = context;
  const vocab = decoder.shape.vocabSize;
  const width = Math.max(1, Math.floor(options.beamWidth));
  const maxNew = newTokenBudget(context, prompt, options.maxNewTokens);
  const processor = new RowProcessor(vocab, prompt, options, endTokens);
  const normalised = (sum: number, length: number) => sum / Math.max(1, length) ** options.lengthPenalty;

  const first = await prefill(decoder, prompt, maxNew);
  let cache = first.cache;
  let rows: Float32Array[] = [first.last];
  // Raw log-normalisers from the graph where it computes them (slot cache), else from each row.
  let logNorms: (number | undefined)[] = [first.lastLogNorm];
  let beams: Beam[] = [{ tokens: [], processed: 0, raw: 0 }];
  const final: Hypothesis[] = [];

  // Per beam, 2 * width expansions are enough: at most `width` of them can be end tokens taking slots.
  const perBeam = 2 * width;
  const indices = new Int32Array(perBeam);
  const processedValues = new Float64Array(perBeam);
  for (let step = 0; ; step++) {
    const expansions: Expansion[] = [];
    beams.forEach((beam, parent) => {
      const raw = rows[parent];
      // Masses are taken relative to a reference: the log-normaliser when known (mass 1), else the max.
      const known = logNorms[parent];
      const reference = known ?? maxOf(raw);
      const rawMass = known !== undefined ? 1 : sumExpBelow(raw, reference);
      const rawLogNorm = reference + Math.log(rawMass);
      // Processors change the row in place; its raw values come back with `restore`.
      const changed = processor.apply(raw, beam.tokens);
      const logNorm = changed ? processedLogNorm(raw, reference, rawMass, processor.massDelta(reference)) : rawLogNorm;
      const count = topKIndices(raw, perBeam, indices);
      for (let i = 0; i < count; i++) processedValues[i] = raw[indices[i]];
      processor.restore();
      for (let i = 0; i < count; i++) {
        const token = indices[i];
        expansions.push({
          parent,
          token,
          tokens: beam.tokens,
          processed: beam.processed + processedValues[i] - logNorm,
          raw: beam.raw + raw[token] - rawLogNorm,
        });
      }
    });
    expansions.sort((a, b) => b.processed - a.processed);

    const next: Expansion[] = [];
    for (const [rank, expansion] of expansions.entries()) {
      if (next.length === width) break;
      if (!endTokens.has(expansion.token)) next.push({ ...expansion, tokens: [...expansion.tokens, expansion.token] });
      else if (rank < width) {
        const length = expansion.tokens.length + 1;
        final.push({ tokens: expansion.tokens, logprob: expansion.raw, finished: true, score: normalised(expansion.processed, length) });
      }
    }
    beams = next;
    if (final.length >= width || beams.length === 0 || step + 1 >= maxNew) break;

    // Rows whose beam kept its slot stay in place; only the others are copied.
    const reordered = decoder.selectRows(cache, next.map((expansion) => expansion.parent));
    const output = await stepBatch(decoder, reordered, beams.map((beam) => beam.tokens.at(-1)!));
    cache = output.present;
    const data = output.logits;
    rows = beams.map((_, row) => data.subarray(row * vocab, (row + 1) * vocab));
    logNorms = beams.map((_, row) => output.logNorms?.[row]);
  }
  decoder.dispose(cache);

  const unfinished: Hypothesis[] = beams.map((beam) => ({
    tokens: beam.tokens,
    logprob: beam.raw,
    finished: false,
    score: normalised(beam.processed, beam.tokens.length),
  }));
  const wanted = Math.min(width, Math.max(1, Math.floor(options.numCandidates)));
  const byScore = (a: Hypothesis, b: Hypothesis) => b.score - a.score;
  // Final hypotheses first; unfinished beams only fill up when too few ended within maxNewTokens.
  const chosen = [...final.sort(byScore), ...unfinished.sort(byScore)].slice(0, wanted).sort(byScore);
  return chosen.map(({ tokens, logprob, finished }) => ({ tokens, logprob, finished }));
}
