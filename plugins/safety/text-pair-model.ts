/**
 * A Hugging Face sequence classifier as a rule model: the folder holds `config.json` (`id2label`,
 * `problem_type`), `tokenizer.json` (+ `tokenizer_config.json`) and an ONNX export (optimum's
 * `onnx/model.onnx` or `model.onnx`) with inputs `input_ids`, `attention_mask` (and
 * `token_type_ids` where the model has them) and output `logits` `[batch, labels]`.
 *
 * The pair is encoded as the tokenizer's own pair template builds it ([CLS] context [SEP] response
 * [SEP] for BERT, <s> context </s></s> response </s> for RoBERTa, ...), after the safety
 * normalization the folder asks for. When it is too long, the context keeps its end and the
 * response its start: the words nearest the reply matter most.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { labelRows, openSession, readModelJson, RuleModelError, type RuleModel } from './model-files.js';
import type { TextNormalizer } from './normalize.js';

/** banter's reading settings, in `config.json` under `banter` (all optional). */
export interface PairInputSettings {
  /** Which safety normalization the model reads: `light` (Unicode folding, case kept; default), `full` (lower case, leetspeak and spacing undone) or `raw`. */
  normalize?: 'raw' | 'light' | 'full';
  maxContextTokens?: number;
  maxResponseTokens?: number;
}

const ONNX_FILES = ['onnx/model.onnx', 'model.onnx'];

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

export class TextPairModel implements RuleModel {
  private constructor(
    readonly folder: string,
    readonly labels: string[],
    readonly labelToRule: Record<string, string>,
    private readonly multiLabel: boolean,
    private readonly settings: Required<PairInputSettings>,
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    private readonly normalizer: TextNormalizer | undefined,
    private readonly session: InferenceSession,
  ) {}

  static async load(folder: string, config: Record<string, unknown>, options: { threads?: number; normalizer?: TextNormalizer }): Promise<TextPairModel> {
    const id2label = config.id2label as Record<string, string>;
    const labels = Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((id, i) => {
        if (Number(id) !== i || typeof id2label[id] !== 'string') throw new RuleModelError(folder, `config.json "id2label" must map 0..n-1 to label names (found "${id}")`);
        return id2label[id];
      });
    const problem = config.problem_type;
    if (problem !== undefined && problem !== 'multi_label_classification' && problem !== 'single_label_classification') {
      throw new RuleModelError(folder, `config.json "problem_type" is "${String(problem)}": a rule model needs multi_label_classification (sigmoid per label) or single_label_classification (softmax)`);
    }
    if (!existsSync(join(folder, 'tokenizer.json'))) throw new RuleModelError(folder, 'missing tokenizer.json (the tokenizer the classifier was trained with)');
    const tokenizerJson = await readModelJson(folder, 'tokenizer.json', 'the tokenizer');
    const tokenizerConfig = existsSync(join(folder, 'tokenizer_config.json')) ? await readModelJson(folder, 'tokenizer_config.json', 'tokenizer settings') : {};
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);

    const banter = (config.banter ?? {}) as PairInputSettings;
    const window = positiveInt(tokenizerConfig.model_max_length) ?? positiveInt(config.max_position_embeddings) ?? positiveInt(config.n_positions) ?? 512;
    // Room for the template's special tokens (at most 4 in the common templates).
    const budget = Math.min(window, 1024) - 4;
    const settings: Required<PairInputSettings> = {
      normalize: banter.normalize ?? 'light',
      maxResponseTokens: banter.maxResponseTokens ?? Math.floor(budget / 2),
      maxContextTokens: banter.maxContextTokens ?? budget - Math.floor(budget / 2),
    };
    if (settings.normalize !== 'raw' && !options.normalizer) throw new RuleModelError(folder, `reads "${settings.normalize}"-normalized text, and no safety normalizer was given`);
    if (settings.maxContextTokens + settings.maxResponseTokens > budget) {
      throw new RuleModelError(folder, `banter.maxContextTokens + maxResponseTokens is ${settings.maxContextTokens + settings.maxResponseTokens}; the model reads at most ${budget} besides its special tokens`);
    }
    const padToken = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : undefined;
    const padId = (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? (typeof config.pad_token_id === 'number' ? config.pad_token_id : 0);

    const session = await openSession(folder, ONNX_FILES, options.threads);
    const missing = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    const unknown = session.inputNames.filter((name) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(name));
    if (missing.length > 0 || unknown.length > 0 || !session.outputNames.includes('logits')) {
      await session.release();
      throw new RuleModelError(folder, `the ONNX model has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; expected inputs input_ids, attention_mask (token_type_ids optional) and output logits`);
    }
    const labelToRule = (config.labelToRule ?? {}) as Record<string, string>;
    return new TextPairModel(folder, labels, labelToRule, problem === 'multi_label_classification', settings, tokenizer, padId, options.normalizer, session);
  }

  private normalize(text: string): string {
    const form = this.settings.normalize;
    if (form === 'raw' || !this.normalizer) return text;
    return form === 'full' ? this.normalizer.full(text) : this.normalizer.light(text);
  }

  /** Token ids and segment ids of one pair, truncated and put through the tokenizer's pair template. */
  encode(context: string, response: string): { ids: number[]; types: number[] } {
    const tokens = (text: string) => (text ? this.tokenizer.tokenize(this.normalize(text)) : []);
    const contextTokens = tokens(context).slice(-this.settings.maxContextTokens);
    const responseTokens = tokens(response).slice(0, this.settings.maxResponseTokens);
    const processed: { tokens: string[]; token_type_ids?: number[] } = this.tokenizer.post_processor
      ? this.tokenizer.post_processor.post_process(contextTokens, responseTokens, true)
      : { tokens: [...contextTokens, ...responseTokens] };
    const ids = processed.tokens.map((token) => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new RuleModelError(this.folder, `the tokenizer produced "${token}", which is not in its vocabulary`);
      return id;
    });
    const types = processed.token_type_ids ?? [...contextTokens.map(() => 0), ...responseTokens.map(() => 1)];
    return { ids, types };
  }

  async predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]> {
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
    const logits = out.data as Float32Array;
    const probabilities = new Float32Array(logits.length);
    const n = this.labels.length;
    for (let row = 0; row * n < logits.length; row++) {
      const slice = logits.subarray(row * n, (row + 1) * n);
      if (this.multiLabel) {
        slice.forEach((z, j) => (probabilities[row * n + j] = 1 / (1 + Math.exp(-z))));
      } else {
        const top = Math.max(...slice);
        const sum = slice.reduce((acc, z) => acc + Math.exp(z - top), 0);
        slice.forEach((z, j) => (probabilities[row * n + j] = Math.exp(z - top) / sum));
      }
    }
    return labelRows(this.folder, 'logits', out.dims, probabilities, this.labels, pairs.length);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
