/** The benchmark's scenarios and the model facts they depend on; inputs are deterministic token ids. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readModelFolder } from '../../core/engine/model-folder.js';
import type { SamplingSettings, ScenarioName, Workload } from './types.js';

export interface ModelFacts {
  name: string;
  path: string;
  modelType: string;
  /** Parameters from config.json (GPT-2's layout, or the Llama family's). */
  params: number;
  layers: number;
  heads: number;
  /** Key/value heads and their size: the cache's shape. */
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocabSize: number;
  contextWindow: number;
  /** Tokens that end a reply; prompts never hold them. */
  endTokens: number[];
  /** Whether the folder has banter's slot-cache graph (onnx/decoder_slot_cache.onnx), which banter and the floor then run on the CPU. */
  slotCacheGraph: boolean;
  /** The fp32 standard graph every system can read. */
  standardGraph: string;
}

export const SAMPLING: SamplingSettings = { topK: 40, temperature: 0.8, newTokens: 32 };

/** Parameters of a GPT-2 (tied embeddings) or a Llama-family decoder (RMSNorm, gated MLP, grouped-query attention). */
function parameterCount(config: Record<string, unknown>, facts: Omit<ModelFacts, 'params'>): number {
  const { layers, hidden, vocabSize, contextWindow, heads, kvHeads, headDim } = facts;
  if (facts.modelType === 'gpt2') {
    // Embeddings (tied with the LM head), per layer: attention 4H^2 + 4H, MLP 8H^2 + 5H, 2 layer norms 4H; final norm 2H.
    return vocabSize * hidden + contextWindow * hidden + layers * (12 * hidden * hidden + 13 * hidden) + 2 * hidden;
  }
  const intermediate = typeof config.intermediate_size === 'number' ? config.intermediate_size : 4 * hidden;
  const attention = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2;
  const embeddings = vocabSize * hidden * (config.tie_word_embeddings === false ? 2 : 1);
  return embeddings + layers * (attention + 3 * hidden * intermediate + 2 * hidden) + hidden;
}

export async function readModelFacts(dir: string): Promise<ModelFacts> {
  const folder = await readModelFolder(dir, { dtype: 'fp32' }).catch((error: Error) => {
    throw new Error(`${error.message}: pass --model with a model folder (config.json, tokenizer.json, onnx/model.onnx)`);
  });
  const config = JSON.parse(await readFile(join(folder.path, 'config.json'), 'utf8')) as Record<string, unknown>;
  const facts = {
    name: folder.name,
    path: folder.path,
    modelType: folder.modelType,
    layers: folder.layers,
    heads: folder.heads,
    kvHeads: folder.kvHeads,
    headDim: folder.headDim,
    hidden: folder.hidden,
    vocabSize: folder.vocabSize,
    contextWindow: folder.contextWindow,
    endTokens: folder.endTokenIds.length > 0 ? folder.endTokenIds : [folder.vocabSize - 1],
    slotCacheGraph: folder.slotCachePath !== undefined,
    standardGraph: folder.onnxPath,
  };
  return { ...facts, params: parameterCount(config, facts) };
}

/** A small seeded generator (LCG) so every run of the harness feeds the same token ids. */
function tokenStream(model: ModelFacts, seed: number): (length: number) => number[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  return (length) =>
    Array.from({ length }, () => {
      const token = next() % model.vocabSize;
      return model.endTokens.includes(token) ? (token + 1) % model.vocabSize : token;
    });
}

export interface Scenario {
  name: ScenarioName;
  description: string;
  workload: Workload;
}

export function buildScenario(name: ScenarioName, model: ModelFacts, seed: number): Scenario {
  const tokens = tokenStream(model, seed);
  const newTokens = SAMPLING.newTokens;
  // Small models have small windows: the prompt shrinks so that it plus the new tokens fit.
  const contextFor = (wanted: number) => Math.min(wanted, model.contextWindow - newTokens);
  const sampling = (candidates: number, context: number): Scenario => {
    const prompt = tokens(contextFor(context));
    const count = candidates === 1 ? '1 candidate' : `${candidates} candidates`;
    return {
      name,
      description: `${count} x ${newTokens} new tokens after ${prompt.length} context tokens (top-k ${SAMPLING.topK}, T ${SAMPLING.temperature})`,
      workload: { kind: 'sample', prompt, candidates, sampling: SAMPLING },
    };
  };
  switch (name) {
    case 'sample-1x32':
      return sampling(1, 32);
    case 'sample-16x32':
      return sampling(16, 128);
    case 'sample-64x32':
      return sampling(64, 128);
    case 'beam-4x32': {
      const prompt = tokens(contextFor(32));
      return {
        name,
        description: `beam search, width 4 x ${newTokens} new tokens after ${prompt.length} context tokens`,
        workload: { kind: 'beam', prompt, width: 4, newTokens },
      };
    }
    case 'score-16': {
      // MMI-style reranking: 16 (context, candidate) pairs of uneven lengths, so padding is real.
      const pairs = Array.from({ length: 16 }, (_, i) => {
        const continuation = tokens(12 + ((i * 3) % 9));
        const context = tokens(Math.min(56 + ((i * 5) % 17), model.contextWindow - continuation.length));
        return { context, continuation };
      });
      return {
        name,
        description: 'score log p(candidate | context) of 16 pairs (contexts 56-72, candidates 12-20 tokens) in one padded batch',
        workload: { kind: 'score', pairs },
      };
    }
  }
}
