/**
 * Beam search over the shared prompt cache. Beams are ranked by the sum of log-softmax of the
 * PROCESSED scores (penalties applied, no temperature); a hypothesis ending with the end token is
 * final when it ranks within the top `beamWidth` of its step, and the search stops once
 * `beamWidth` hypotheses are final (so width 1 is exactly greedy decoding).
 */
import { newTokenBudget, prefill, stepBatch, type DecodeContext, type RawCandidate } from './decode.js';
import { RowProcessor } from './logits.js';
import { logSumExp, topKIndices } from './sampling.js';
import { disposeCache } from './session.js';
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

export async function beamSearch(context: DecodeContext, prompt: readonly number[], options: DecodeOptions): Promise<RawCandidate[]> {
  const { decoder, endToken } = context;
  const vocab = decoder.shape.vocabSize;
  const width = Math.max(1, Math.floor(options.beamWidth));
  const maxNew = newTokenBudget(context, prompt, options.maxNewTokens);
  const processor = new RowProcessor(vocab, prompt, options, endToken);
  const normalised = (sum: number, length: number) => sum / Math.max(1, length) ** options.lengthPenalty;

  const first = await prefill(decoder, prompt);
  let cache = first.cache;
  let logits = first.logits;
  let rows: Float32Array[] = [first.last];
  let beams: Beam[] = [{ tokens: [], processed: 0, raw: 0 }];
  const final: Hypothesis[] = [];

  for (let step = 0; ; step++) {
    const expansions: Expansion[] = [];
    beams.forEach((beam, parent) => {
      const raw = rows[parent];
      const rawLogNorm = logSumExp(raw);
      const scores = processor.process(raw, beam.tokens);
      const logNorm = logSumExp(scores);
      // 2 * width per beam is enough: at most `width` of them can be end tokens that take slots.
      const count = topKIndices(scores, 2 * width, processor.indices);
      for (let i = 0; i < count; i++) {
        const token = processor.indices[i];
        expansions.push({
          parent,
          token,
          tokens: beam.tokens,
          processed: beam.processed + scores[token] - logNorm,
          raw: beam.raw + raw[token] - rawLogNorm,
        });
      }
    });
    logits.dispose();
    expansions.sort((a, b) => b.processed - a.processed);

    const next: Expansion[] = [];
    for (const [rank, expansion] of expansions.entries()) {
      if (next.length === width) break;
      if (expansion.token !== endToken) next.push({ ...expansion, tokens: [...expansion.tokens, expansion.token] });
      else if (rank < width) {
        const length = expansion.tokens.length + 1;
        final.push({ tokens: expansion.tokens, logprob: expansion.raw, finished: true, score: normalised(expansion.processed, length) });
      }
    }
    beams = next;
    if (final.length >= width || beams.length === 0 || step + 1 >= maxNew) break;

    const reordered = decoder.gatherRows(cache, next.map((expansion) => expansion.parent));
    disposeCache(cache);
    const output = await stepBatch(decoder, reordered, beams.map((beam) => beam.tokens.at(-1)!));
    disposeCache(reordered);
    cache = output.present;
    logits = output.logits;
    const data = logits.data as Float32Array;
    rows = beams.map((_, row) => data.subarray(row * vocab, (row + 1) * vocab));
  }
  disposeCache(cache);

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
