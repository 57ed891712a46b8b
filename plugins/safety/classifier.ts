/**
 * The rule model: an ONNX classifier giving one violation probability per label, run by
 * onnxruntime-node. A model folder holds `model.onnx` and `config.json` (labels, the
 * label -> rule map, the featurizer spec, input/output names); any classifier exported that
 * way (hashed features in, probabilities out) can replace the shipped one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Featurizer, type FeaturizerSpec } from './featurize.js';

export interface RuleModelConfig {
  name: string;
  input: string;
  output: string;
  labels: string[];
  labelToRule: Record<string, string>;
  featurizer: FeaturizerSpec;
}

export class RuleModelError extends Error {
  constructor(folder: string, message: string, options?: { cause?: unknown }) {
    super(`Safety rule model at ${folder}: ${message}`, options);
    this.name = 'RuleModelError';
  }
}

export class RuleModel {
  private constructor(
    readonly folder: string,
    readonly config: RuleModelConfig,
    readonly featurizer: Featurizer,
    private readonly session: InferenceSession,
  ) {}

  static async load(folder: string, options: { threads?: number } = {}): Promise<RuleModel> {
    let config: RuleModelConfig;
    try {
      config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')) as RuleModelConfig;
    } catch (error) {
      throw new RuleModelError(folder, `cannot read config.json (labels, labelToRule, featurizer): ${(error as Error).message}`, { cause: error });
    }
    for (const key of ['input', 'output', 'labels', 'featurizer'] as const) {
      if (!config[key]) throw new RuleModelError(folder, `config.json lacks "${key}"`);
    }
    const featurizer = new Featurizer(config.featurizer);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(join(folder, 'model.onnx'), { intraOpNumThreads: options.threads ?? 1, graphOptimizationLevel: 'all' });
    } catch (error) {
      throw new RuleModelError(folder, `cannot open model.onnx: ${(error as Error).message}`, { cause: error });
    }
    if (!session.inputNames.includes(config.input) || !session.outputNames.includes(config.output)) {
      throw new RuleModelError(folder, `model.onnx has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; config.json names "${config.input}" -> "${config.output}"`);
    }
    return new RuleModel(folder, config, featurizer, session);
  }

  /** Label probabilities for each (context, response) pair, in one batched run. */
  async predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]> {
    if (pairs.length === 0) return [];
    const dim = this.featurizer.dim;
    const features = new Float32Array(pairs.length * dim);
    pairs.forEach((pair, i) => this.featurizer.fill(features.subarray(i * dim, (i + 1) * dim), pair.context, pair.response));
    const outputs = await this.session.run({ [this.config.input]: new Tensor('float32', features, [pairs.length, dim]) });
    const probabilities = outputs[this.config.output];
    const labels = this.config.labels;
    if (probabilities.dims.length !== 2 || probabilities.dims[1] !== labels.length) {
      throw new RuleModelError(this.folder, `output "${this.config.output}" has shape [${probabilities.dims.join(', ')}], expected [batch, ${labels.length}] (one column per label)`);
    }
    const data = probabilities.data as Float32Array;
    return pairs.map((_, i) => Object.fromEntries(labels.map((label, j) => [label, data[i * labels.length + j]])));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
