/** Reads a Hugging Face-style GPT-2 model folder: configs, dialogue format, tokenizer files, ONNX path. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ModelFolderError } from './errors.js';
import type { DecodeOptions, DialogueFormat, ModelInfo } from './types.js';

/** What a model folder holds: the engine's `ModelInfo` plus what loading needs. */
export interface ModelFolder extends ModelInfo {
  eosTokenId?: number;
  /** From dialogue_format.json; undefined when the folder has none (the engine then uses DialoGPT's format). */
  format?: DialogueFormat;
  tokenizerJson: object;
  tokenizerConfig: object;
  /** The standard decoder with past: `onnx/model.onnx`, else optimum's `onnx/decoder_model_merged.onnx`. */
  onnxPath: string;
  /** banter's slot-cache graph of the same weights (`onnx/decoder_slot_cache.onnx`), when the folder has it. */
  slotCachePath?: string;
}

const ONNX_CANDIDATES = ['onnx/model.onnx', 'onnx/decoder_model_merged.onnx'];
const SLOT_CACHE_GRAPH = 'onnx/decoder_slot_cache.onnx';

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) {
    if (required) throw new ModelFolderError('missing file', path);
    return undefined;
  }
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFolderError(`invalid JSON: ${(error as Error).message}`, path);
  }
}

function requireNumber(config: Record<string, unknown>, keys: string[], path: string): number {
  for (const key of keys) if (typeof config[key] === 'number') return config[key] as number;
  throw new ModelFolderError(`config.json needs a number in ${keys.join(' or ')}`, path);
}

/** Maps Hugging Face generation_config.json fields onto banter's decoding options. */
export function generationFromHf(generation: Record<string, unknown>): Partial<DecodeOptions> {
  const out: Partial<DecodeOptions> = {};
  const num = (key: string): number | undefined => (typeof generation[key] === 'number' ? (generation[key] as number) : undefined);
  const beams = num('num_beams');
  if (generation.do_sample === true) out.strategy = 'sample';
  else if (beams !== undefined && beams > 1) out.strategy = 'beam';
  else if (generation.do_sample === false) out.strategy = 'greedy';
  const fields: [keyof DecodeOptions, string][] = [
    ['temperature', 'temperature'],
    ['topK', 'top_k'],
    ['topP', 'top_p'],
    ['repetitionPenalty', 'repetition_penalty'],
    ['noRepeatNgramSize', 'no_repeat_ngram_size'],
    ['minNewTokens', 'min_new_tokens'],
    ['maxNewTokens', 'max_new_tokens'],
    ['beamWidth', 'num_beams'],
    ['lengthPenalty', 'length_penalty'],
    ['numCandidates', 'num_return_sequences'],
  ];
  for (const [ours, theirs] of fields) {
    const value = num(theirs);
    if (value !== undefined) (out as Record<string, number>)[ours] = value;
  }
  return out;
}

function validateFormat(format: Record<string, unknown>, path: string): DialogueFormat {
  for (const key of ['user', 'bot', 'responsePrefix', 'end'] as const) {
    if (typeof format[key] !== 'string') throw new ModelFolderError(`dialogue_format.json needs a string "${key}"`, path);
  }
  for (const key of ['persona', 'knowledge', 'prefix'] as const) {
    if (format[key] !== undefined && typeof format[key] !== 'string') {
      throw new ModelFolderError(`dialogue_format.json: "${key}" must be a string`, path);
    }
  }
  if (format.direction !== undefined && format.direction !== 'forward' && format.direction !== 'backward') {
    throw new ModelFolderError('dialogue_format.json: "direction" must be "forward" or "backward"', path);
  }
  if (format.knowledgePlacement !== undefined && format.knowledgePlacement !== 'before-history' && format.knowledgePlacement !== 'before-response') {
    throw new ModelFolderError('dialogue_format.json: "knowledgePlacement" must be "before-history" or "before-response"', path);
  }
  for (const key of ['user', 'bot', 'persona', 'knowledge'] as const) {
    if (typeof format[key] === 'string' && !(format[key] as string).includes('{text}')) {
      throw new ModelFolderError(`dialogue_format.json: "${key}" must contain {text}`, path);
    }
  }
  return format as unknown as DialogueFormat;
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const path = resolve(dir);
  if (!existsSync(path)) throw new ModelFolderError('model folder not found', path);
  const configPath = join(path, 'config.json');
  const config = (await readJson(configPath, true))!;
  const onnx = ONNX_CANDIDATES.find((file) => existsSync(join(path, file)));
  if (!onnx) throw new ModelFolderError(`no ONNX model: expected ${ONNX_CANDIDATES.join(' or ')}`, path);
  const formatPath = join(path, 'dialogue_format.json');
  const format = await readJson(formatPath, false);
  const generation = (await readJson(join(path, 'generation_config.json'), false)) ?? {};
  const eos = typeof config.eos_token_id === 'number' ? config.eos_token_id : undefined;
  return {
    path,
    name: basename(path),
    modelType: typeof config.model_type === 'string' ? config.model_type : 'gpt2',
    layers: requireNumber(config, ['n_layer', 'num_hidden_layers'], configPath),
    heads: requireNumber(config, ['n_head', 'num_attention_heads'], configPath),
    hidden: requireNumber(config, ['n_embd', 'hidden_size'], configPath),
    vocabSize: requireNumber(config, ['vocab_size'], configPath),
    contextWindow: requireNumber(config, ['n_positions', 'n_ctx', 'max_position_embeddings'], configPath),
    eosTokenId: eos,
    generation: generationFromHf(generation),
    format: format ? validateFormat(format, formatPath) : undefined,
    tokenizerJson: (await readJson(join(path, 'tokenizer.json'), true))!,
    tokenizerConfig: (await readJson(join(path, 'tokenizer_config.json'), false)) ?? {},
    onnxPath: join(path, onnx),
    slotCachePath: existsSync(join(path, SLOT_CACHE_GRAPH)) ? join(path, SLOT_CACHE_GRAPH) : undefined,
  };
}
