/**
 * Reads a Hugging Face-style decoder-only model folder (optimum exports, transformers.js /
 * onnx-community folders, banter's own): configs, end tokens, prompt format (chat template or
 * dialogue_format.json), tokenizer files, and which ONNX file runs for the asked dtype.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { AUTO_DTYPE_ORDER, DTYPE_SUFFIX, MODEL_DTYPES, type ModelDtype } from './dtype.js';
import { ModelFolderError, UnsupportedModelError } from './errors.js';
import type { DecodeOptions, DialogueFormat } from './types.js';

export type DtypeChoice = ModelDtype | 'auto';

/** What a model folder holds, before any session exists. */
export interface ModelFolder extends ModelDescription {
  /** The dtype chosen and its standard decoder with past. */
  dtype: ModelDtype;
  onnxPath: string;
  /** banter's slot-cache graph of the same weights and dtype, when the folder has it. */
  slotCachePath?: string;
  /** Every dtype the folder has a standard graph for. */
  availableDtypes: ModelDtype[];
}

/** A model folder's configs, tokenizer and prompt format: all a remote engine needs of it (no ONNX file). */
export interface ModelDescription {
  path: string;
  name: string;
  modelType: string;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); `heads` when config.json does not say. */
  kvHeads: number;
  /** Per-head size; Gemma's is not hidden / heads. */
  headDim: number;
  hidden: number;
  vocabSize: number;
  /** Maximum sequence length. */
  contextWindow: number;
  /** Every token that ends a reply: config.json's and generation_config.json's eos ids (numbers or lists). */
  endTokenIds: number[];
  bosTokenId?: number;
  padTokenId?: number;
  generation: Partial<DecodeOptions>;
  /** From dialogue_format.json (GPT-2/DialoGPT and banter's own models); wins over a chat template. */
  format?: DialogueFormat;
  /** The chat template (tokenizer_config.json, chat_template.jinja or chat_template.json). */
  chatTemplate?: string;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
}

/** Standard decoder file stems: transformers.js' `model`, optimum's merged decoder. */
const DECODER_STEMS = ['model', 'decoder_model_merged'];
const SLOT_CACHE_STEM = 'decoder_slot_cache';

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

function optionalNumber(config: Record<string, unknown>, key: string): number | undefined {
  return typeof config[key] === 'number' ? (config[key] as number) : undefined;
}

/** Token ids given as a number or a list of numbers (Llama 3 lists several end tokens). */
function tokenIds(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.filter((id): id is number => typeof id === 'number');
  return [];
}

/** Maps Hugging Face generation_config.json fields onto banter's decoding options. */
export function generationFromHf(generation: Record<string, unknown>): Partial<DecodeOptions> {
  const out: Partial<DecodeOptions> = {};
  const beams = optionalNumber(generation, 'num_beams');
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
    const value = optionalNumber(generation, theirs);
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

/** Refuses models the engine cannot run (it runs decoder-only causal language models), saying why. */
function checkArchitecture(config: Record<string, unknown>, modelType: string, path: string): void {
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  const causal = architectures.some((name) => /(ForCausalLM|LMHeadModel)$/.test(name));
  if (config.is_encoder_decoder === true || (!causal && architectures.some((name) => /ForConditionalGeneration$/.test(name)))) {
    throw new UnsupportedModelError(
      `"${modelType}" (${architectures.join(', ') || 'encoder-decoder'}) is an encoder-decoder or multimodal model; banter runs decoder-only causal language models (GPT-2, Llama, Qwen2, Mistral, Phi-3, Gemma, SmolLM, ...)`,
      path,
    );
  }
  if (architectures.length > 0 && !causal) {
    throw new UnsupportedModelError(
      `"${modelType}" (${architectures.join(', ')}) is not a causal language model (no *ForCausalLM / *LMHeadModel architecture); banter needs one to generate replies`,
      path,
    );
  }
}

/** `onnx/STEM{suffix}.onnx` (transformers.js), else the same file at the folder's top (optimum-cli's output). */
function onnxFile(path: string, stem: string, dtype: ModelDtype): string | undefined {
  const name = `${stem}${DTYPE_SUFFIX[dtype]}.onnx`;
  return [join(path, 'onnx', name), join(path, name)].find((file) => existsSync(file));
}

function standardGraph(path: string, dtype: ModelDtype): string | undefined {
  for (const stem of DECODER_STEMS) {
    const file = onnxFile(path, stem, dtype);
    if (file) return file;
  }
  return undefined;
}

/** The ONNX file for `choice`, or an error that lists what the folder has. */
function chooseGraph(path: string, choice: DtypeChoice, device: 'cpu' | 'gpu'): { dtype: ModelDtype; file: string; available: ModelDtype[] } {
  const available = MODEL_DTYPES.filter((dtype) => standardGraph(path, dtype));
  if (available.length === 0) {
    const present = existsSync(join(path, 'onnx')) ? readdirSync(join(path, 'onnx')).filter((f) => f.endsWith('.onnx')) : [];
    const layout = present.some((file) => file.startsWith('decoder_with_past_model'))
      ? ' (this is the older split layout decoder_model.onnx + decoder_with_past_model.onnx: export a merged decoder with optimum, `optimum-cli export onnx --task text-generation-with-past`)'
      : '';
    throw new ModelFolderError(
      `no ONNX decoder: expected onnx/model.onnx or onnx/decoder_model_merged.onnx (or a dtype variant such as model_q4.onnx)${
        present.length ? `; onnx/ holds ${present.join(', ')}` : ''
      }${layout}`,
      path,
    );
  }
  const dtype = choice === 'auto' ? AUTO_DTYPE_ORDER[device].find((d) => available.includes(d))! : choice;
  const file = standardGraph(path, dtype);
  if (!file) {
    throw new ModelFolderError(
      `engine.dtype ${dtype} asked for onnx/model${DTYPE_SUFFIX[dtype]}.onnx, which this folder does not have; it has ${available
        .map((d) => `${d} (model${DTYPE_SUFFIX[d]}.onnx)`)
        .join(', ')}. Set engine.dtype to one of those, or auto`,
      path,
    );
  }
  return { dtype, file, available };
}

async function readChatTemplate(path: string, tokenizerConfig: Record<string, unknown>): Promise<string | undefined> {
  const jinja = join(path, 'chat_template.jinja');
  if (existsSync(jinja)) return readFile(jinja, 'utf8');
  const fromJson = (await readJson(join(path, 'chat_template.json'), false))?.chat_template ?? tokenizerConfig.chat_template;
  if (typeof fromJson === 'string') return fromJson;
  // A list of named templates: the default one, as transformers picks it without tools.
  if (Array.isArray(fromJson)) {
    const named = fromJson.find((entry) => entry && (entry as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return named.template;
  }
  return undefined;
}

export interface ReadModelOptions {
  dtype?: DtypeChoice;
  /** Where it will run: `auto` prefers full precision on the CPU and half precision on a GPU. */
  device?: 'cpu' | 'gpu';
}

export async function readModelFolder(dir: string, options: ReadModelOptions = {}): Promise<ModelFolder> {
  const model = await readModelDescription(dir);
  const graph = chooseGraph(model.path, options.dtype ?? 'auto', options.device ?? 'cpu');
  return { ...model, dtype: graph.dtype, onnxPath: graph.file, slotCachePath: onnxFile(model.path, SLOT_CACHE_STEM, graph.dtype), availableDtypes: graph.available };
}

/** Reads a folder's configs, tokenizer and prompt format; needs no ONNX file. */
export async function readModelDescription(dir: string): Promise<ModelDescription> {
  const path = resolve(dir);
  if (!existsSync(path)) throw new ModelFolderError('model folder not found', path);
  const configPath = join(path, 'config.json');
  const config = (await readJson(configPath, true))!;
  const modelType = typeof config.model_type === 'string' ? config.model_type : 'gpt2';
  checkArchitecture(config, modelType, configPath);
  const formatPath = join(path, 'dialogue_format.json');
  const format = await readJson(formatPath, false);
  const generation = (await readJson(join(path, 'generation_config.json'), false)) ?? {};
  const tokenizerConfig = (await readJson(join(path, 'tokenizer_config.json'), false)) ?? {};
  const heads = requireNumber(config, ['n_head', 'num_attention_heads'], configPath);
  const hidden = requireNumber(config, ['n_embd', 'hidden_size'], configPath);
  const endTokenIds = [...new Set([...tokenIds(config.eos_token_id), ...tokenIds(generation.eos_token_id)])];
  return {
    path,
    name: basename(path),
    modelType,
    layers: requireNumber(config, ['n_layer', 'num_hidden_layers'], configPath),
    heads,
    kvHeads: optionalNumber(config, 'num_key_value_heads') ?? heads,
    headDim: optionalNumber(config, 'head_dim') ?? hidden / heads,
    hidden,
    vocabSize: requireNumber(config, ['vocab_size'], configPath),
    contextWindow: requireNumber(config, ['n_positions', 'n_ctx', 'max_position_embeddings'], configPath),
    endTokenIds,
    bosTokenId: tokenIds(config.bos_token_id ?? generation.bos_token_id)[0],
    padTokenId: tokenIds(config.pad_token_id ?? generation.pad_token_id)[0],
    generation: generationFromHf(generation),
    format: format ? validateFormat(format, formatPath) : undefined,
    chatTemplate: await readChatTemplate(path, tokenizerConfig),
    tokenizerJson: (await readJson(join(path, 'tokenizer.json'), true))!,
    tokenizerConfig,
  };
}
