/**
 * A Hugging Face sequence classifier over a text pair, run by onnxruntime-node through the same
 * session code as the dialogue engine (device, threads). Plugins score replies with it: the safety
 * plugin's rule models, the reward plugin's preference model. The folder holds `config.json`
 * (`id2label` or `num_labels`), `tokenizer.json` (+ `tokenizer_config.json`) and an ONNX export
 * (optimum's `onnx/model.onnx`, or `model.onnx`) with inputs `input_ids`, `attention_mask` (and
 * `token_type_ids` where the model has them) and output `logits` `[batch, labels]`.
 *
 * The pair is encoded as the tokenizer's own pair template builds it ([CLS] context [SEP] reply
 * [SEP] for BERT, <s> context </s></s> reply </s> for RoBERTa, ...). When it is too long, the
 * context keeps its end and the reply its start: the words nearest the reply matter most.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { EngineDevice } from '../engine/errors.js';
import { createInferenceSession } from '../engine/session.js';
import type { EngineOptions } from '../engine/types.js';

const ONNX_FILES = ['onnx/model.onnx', 'model.onnx'];
const INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'];

/** A folder that is not a usable classifier; `detail` says why, for callers that word their own errors. */
export class ClassifierFolderError extends Error {
  constructor(
    readonly folder: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Sequence classifier at ${folder}: ${detail}`, options);
    this.name = 'ClassifierFolderError';
  }
}

export interface PairClassifierOptions {
  /** Where it runs (as `engine.device`; an unavailable GPU falls back to the CPU). Default `cpu`. */
  device?: EngineOptions['device'];
  /** onnxruntime's threads within an operator. */
  threads?: number;
  /** Applied to both texts before they are tokenized (the safety plugin's normalization). */
  normalize?: (text: string) => string;
}

export interface PairInput {
  context: string;
  response: string;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

export async function readModelJson(folder: string, file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(join(folder, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ClassifierFolderError(folder, `cannot read ${file} (${what}): ${(error as Error).message}`, { cause: error });
  }
}

/** Label names in index order: `id2label`, else `num_labels` as LABEL_0..n-1. */
function labelsOf(folder: string, config: Record<string, unknown>): string[] {
  const id2label = config.id2label as Record<string, unknown> | undefined;
  if (id2label && typeof id2label === 'object') {
    return Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((id, i) => {
        if (Number(id) !== i || typeof id2label[id] !== 'string') throw new ClassifierFolderError(folder, `config.json "id2label" must map 0..n-1 to label names (found "${id}")`);
        return id2label[id] as string;
      });
  }
  const count = positiveInt(config.num_labels);
  if (count) return Array.from({ length: count }, (_, i) => `LABEL_${i}`);
  throw new ClassifierFolderError(folder, 'config.json has neither "id2label" nor "num_labels": how many scores does the model give?');
}

export class PairClassifier {
  private constructor(
    readonly folder: string,
    /** The folder's config.json, for the settings a caller reads (problem_type, its own keys). */
    readonly config: Record<string, unknown>,
    readonly labels: string[],
    readonly device: EngineDevice,
    private readonly limits: { maxContextTokens: number; maxResponseTokens: number },
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    private readonly normalize: (text: string) => string,
    private readonly session: InferenceSession,
  ) {}

  static async load(folder: string, options: PairClassifierOptions = {}): Promise<PairClassifier> {
    const config = await readModelJson(folder, 'config.json', 'labels and how the model reads text');
    const labels = labelsOf(folder, config);
    if (!existsSync(join(folder, 'tokenizer.json'))) throw new ClassifierFolderError(folder, 'missing tokenizer.json (the tokenizer the classifier was trained with)');
    const tokenizerJson = await readModelJson(folder, 'tokenizer.json', 'the tokenizer');
    const tokenizerConfig = existsSync(join(folder, 'tokenizer_config.json')) ? await readModelJson(folder, 'tokenizer_config.json', 'tokenizer settings') : {};
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);

    // banter's reading settings, in config.json under `banter` (optional): how many tokens of each text it reads.
    const banter = (config.banter ?? {}) as { maxContextTokens?: number; maxResponseTokens?: number };
    const window = positiveInt(tokenizerConfig.model_max_length) ?? positiveInt(config.max_position_embeddings) ?? positiveInt(config.n_positions) ?? 512;
    // Room for the template's special tokens (at most 4 in the common templates).
    const budget = Math.min(window, 1024) - 4;
    const limits = {
      maxResponseTokens: banter.maxResponseTokens ?? Math.floor(budget / 2),
      maxContextTokens: banter.maxContextTokens ?? budget - Math.floor(budget / 2),
    };
    if (limits.maxContextTokens + limits.maxResponseTokens > budget) {
      throw new ClassifierFolderError(folder, `banter.maxContextTokens + maxResponseTokens is ${limits.maxContextTokens + limits.maxResponseTokens}; the model reads at most ${budget} besides its special tokens`);
    }
    const padToken = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : undefined;
    const padId = (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? (typeof config.pad_token_id === 'number' ? config.pad_token_id : 0);

    const file = ONNX_FILES.find((name) => existsSync(join(folder, name)));
    if (!file) throw new ClassifierFolderError(folder, `no ONNX model: expected ${ONNX_FILES.join(' or ')}`);
    let opened: { session: InferenceSession; device: EngineDevice };
    try {
      opened = await createInferenceSession(join(folder, file), { device: options.device ?? 'cpu', fallback: 'cpu', intraOpThreads: options.threads });
    } catch (error) {
      throw new ClassifierFolderError(folder, `cannot open ${file}: ${(error as Error).message}`, { cause: error });
    }
    const { session, device } = opened;
    const missing = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    const unknown = session.inputNames.filter((name) => !INPUTS.includes(name));
    if (missing.length > 0 || unknown.length > 0 || !session.outputNames.includes('logits')) {
      await session.release();
      throw new ClassifierFolderError(
        folder,
        `the ONNX model has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; expected inputs input_ids, attention_mask (token_type_ids optional) and output logits`,
      );
    }
    return new PairClassifier(folder, config, labels, device, limits, tokenizer, padId, options.normalize ?? ((text) => text), session);
  }

  /** Token ids and segment ids of one pair, truncated and put through the tokenizer's pair template. */
  encode(context: string, response: string): { ids: number[]; types: number[] } {
    const tokens = (text: string) => (text ? this.tokenizer.tokenize(this.normalize(text)) : []);
    const contextTokens = tokens(context).slice(-this.limits.maxContextTokens);
    const responseTokens = tokens(response).slice(0, this.limits.maxResponseTokens);
    const processed: { tokens: string[]; token_type_ids?: number[] } = this.tokenizer.post_processor
      ? this.tokenizer.post_processor.post_process(contextTokens, responseTokens, true)
      : { tokens: [...contextTokens, ...responseTokens] };
    const ids = processed.tokens.map((token) => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new ClassifierFolderError(this.folder, `the tokenizer produced "${token}", which is not in its vocabulary`);
      return id;
    });
    const types = processed.token_type_ids ?? [...contextTokens.map(() => 0), ...responseTokens.map(() => 1)];
    return { ids, types };
  }

  /** The raw logits of each pair (one row per pair, one value per label), in one batched run (right-padded). */
  async logits(pairs: readonly PairInput[]): Promise<Float32Array[]> {
    if (pairs.length === 0) return [];
    const encoded = pairs.map((pair) => this.encode(pair.context, pair.response));
    const width = Math.max(...encoded.map((e) => e.ids.length));
    const ids = new BigInt64Array(pairs.length * width).fill(BigInt(this.padId));
    const mask = new BigInt64Array(pairs.length * width);
    const types = new BigInt64Array(pairs.length * width);
    encoded.forEach((e, row) => {
      e.ids.forEach((id, j) => {
        ids[row * width + j] = BigInt(id);
        mask[row * width + j] = 1n;
        types[row * width + j] = BigInt(e.types[j] ?? 0);
      });
    });
    const shape = [pairs.length, width];
    const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', ids, shape), attention_mask: new Tensor('int64', mask, shape) };
    if (this.session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new Tensor('int64', types, shape);
    const out = (await this.session.run(feeds)).logits;
    const n = this.labels.length;
    if (out.dims.length !== 2 || out.dims[0] !== pairs.length || out.dims[1] !== n) {
      throw new ClassifierFolderError(this.folder, `output "logits" has shape [${out.dims.join(', ')}], expected [${pairs.length}, ${n}] (one column per label)`);
    }
    const data = out.data as Float32Array;
    return pairs.map((_, row) => data.slice(row * n, (row + 1) * n));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
