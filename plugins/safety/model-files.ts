/** What every rule model provides, and the file helpers both kinds of model folder share. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import type { Featurizer } from './featurize.js';

export interface RuleModel {
  readonly folder: string;
  readonly labels: string[];
  /** The folder's own label -> rule map ({} when it has none; the bot config's `labelToRule` replaces it). */
  readonly labelToRule: Record<string, string>;
  /** Present when the model reads banter's hashed features; its normalizer is then the detectors' too. */
  readonly featurizer?: Featurizer;
  /** Label probabilities for each (context, response) pair, in one batched run. */
  predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]>;
  dispose(): Promise<void>;
}

export class RuleModelError extends Error {
  constructor(folder: string, message: string, options?: { cause?: unknown }) {
    super(`Safety rule model at ${folder}: ${message}`, options);
    this.name = 'RuleModelError';
  }
}

export async function readModelJson(folder: string, file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(join(folder, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new RuleModelError(folder, `cannot read ${file} (${what}): ${(error as Error).message}`, { cause: error });
  }
}

/** Opens the first ONNX file of `candidates` that the folder has. */
export async function openSession(folder: string, candidates: string[], threads = 1): Promise<InferenceSession> {
  const file = candidates.find((name) => existsSync(join(folder, name)));
  if (!file) throw new RuleModelError(folder, `no ONNX model: expected ${candidates.join(' or ')}`);
  try {
    return await InferenceSession.create(join(folder, file), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  } catch (error) {
    throw new RuleModelError(folder, `cannot open ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Checks an output of shape [batch, labels] and splits it into one record per pair. */
export function labelRows(folder: string, name: string, dims: readonly number[], data: Float32Array, labels: string[], batch: number): Record<string, number>[] {
  if (dims.length !== 2 || dims[0] !== batch || dims[1] !== labels.length) {
    throw new RuleModelError(folder, `output "${name}" has shape [${dims.join(', ')}], expected [${batch}, ${labels.length}] (one column per label)`);
  }
  return Array.from({ length: batch }, (_, i) => Object.fromEntries(labels.map((label, j) => [label, data[i * labels.length + j]])));
}
