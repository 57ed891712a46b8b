/** Where the shipped default models live, and a greedy decoding setup shared by the model tests. */
import path from 'node:path';
import type { DecodeOptions } from '../../core/engine/index.js';
import { PLAIN } from '../engine/helpers.js';

/** BANTER_MODELS_DIR: check another export of the same models (e.g. a training run in progress). */
export const MODELS_DIR = path.resolve(process.env.BANTER_MODELS_DIR ?? 'models');
export const FORWARD_MODEL = path.join(MODELS_DIR, 'banter-chat');
export const BACKWARD_MODEL = path.join(MODELS_DIR, 'banter-chat-backward');

/** The engine tests' neutral options (no penalty, no filtering), greedy: one reply of up to 16 tokens. */
export const GREEDY: DecodeOptions = { ...PLAIN, strategy: 'greedy', numCandidates: 1, maxNewTokens: 16 };

/** Pairs every item with the one half the list away: a fixed mismatch with no item paired to itself. */
export function mismatched<T>(items: T[]): T[] {
  const shift = Math.max(1, Math.floor(items.length / 2));
  return items.map((_, i) => items[(i + shift) % items.length]);
}
