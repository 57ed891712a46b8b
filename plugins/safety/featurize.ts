/**
 * Hashed word and character n-gram features, identical to tools/safety/featurize.py: the rule
 * model's input is one L2-normalized block of log1p counts per field (context, then response).
 */
import { TextNormalizer, type NormalizeSpec } from './normalize.js';

export interface FeatureSpec {
  hash: 'fnv1a32-utf8';
  fieldDim: number;
  fields: string[];
  wordNgrams: [number, number];
  charNgrams: [number, number];
  weighting: 'log1p-then-l2-per-field';
  keepSymbols: string;
}

export interface FeaturizerSpec {
  normalize: NormalizeSpec;
  features: FeatureSpec;
}

const utf8 = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

const isWordChar = (ch: string) => (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch === "'";

export class Featurizer {
  readonly normalizer: TextNormalizer;
  readonly dim: number;

  constructor(readonly spec: FeaturizerSpec) {
    if (spec.features.hash !== 'fnv1a32-utf8' || spec.features.weighting !== 'log1p-then-l2-per-field') {
      throw new Error(`Unsupported featurizer spec (hash ${spec.features.hash}, weighting ${spec.features.weighting}): this version of banter implements fnv1a32-utf8 with log1p-then-l2-per-field`);
    }
    if (spec.features.fields.join(',') !== 'context,response') {
      throw new Error(`Unsupported featurizer fields [${spec.features.fields.join(', ')}]: expected [context, response]`);
    }
    this.normalizer = new TextNormalizer(spec.normalize);
    this.dim = spec.features.fieldDim * spec.features.fields.length;
  }

  /** Word tokens of normalized text: runs of [a-z0-9'], plus kept symbols as their own tokens. */
  words(normalized: string): string[] {
    const out: string[] = [];
    let current = '';
    for (const ch of normalized) {
      if (isWordChar(ch)) {
        current += ch;
        continue;
      }
      if (current) out.push(current);
      current = '';
      if (this.spec.features.keepSymbols.includes(ch)) out.push(ch);
    }
    if (current) out.push(current);
    return out;
  }

  featureStrings(text: string): string[] {
    const { wordNgrams, charNgrams } = this.spec.features;
    const tokens = this.words(this.normalizer.full(text));
    const out: string[] = [];
    for (let n = wordNgrams[0]; n <= wordNgrams[1]; n++) {
      for (let i = 0; i + n <= tokens.length; i++) out.push(`w${n}:${tokens.slice(i, i + n).join(' ')}`);
    }
    for (const token of tokens) {
      const padded = Array.from(`<${token}>`);
      for (let n = charNgrams[0]; n <= charNgrams[1]; n++) {
        for (let i = 0; i + n <= padded.length; i++) out.push(`c:${padded.slice(i, i + n).join('')}`);
      }
    }
    return out;
  }

  /** Sparse weights of one field: index (within the field) -> log1p(count), L2-normalized. */
  fieldVector(text: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const feature of this.featureStrings(text)) {
      const index = fnv1a32(feature) % this.spec.features.fieldDim;
      counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    let norm = 0;
    const weights = new Map<number, number>();
    for (const [index, count] of counts) {
      const weight = Math.log1p(count);
      weights.set(index, weight);
      norm += weight * weight;
    }
    norm = Math.sqrt(norm);
    for (const [index, weight] of weights) weights.set(index, weight / norm);
    return weights;
  }

  /** Writes the features of one (context, response) pair into `row` (length `dim`, zeroed). */
  fill(row: Float32Array, context: string, response: string): void {
    const fieldDim = this.spec.features.fieldDim;
    for (const [offset, text] of [[0, context], [fieldDim, response]] as const) {
      for (const [index, weight] of this.fieldVector(text)) row[offset + index] = weight;
    }
  }
}
