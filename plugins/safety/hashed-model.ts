/**
 * banter's own kind of rule model: `model.onnx` reads `[batch, 2 * fieldDim]` hashed n-gram
 * features of the (context, response) pair (the `featurizer` spec in `config.json`) and returns
 * `[batch, labels]` probabilities. See models/safety-rules/MODEL_CARD.md.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { Featurizer, type FeaturizerSpec } from './featurize.js';
import { labelRows, openSession, RuleModelError, type RuleModel } from './model-files.js';

export interface HashedModelConfig {
  input: string;
  output: string;
  labels: string[];
  labelToRule?: Record<string, string>;
  featurizer: FeaturizerSpec;
}

export class HashedFeatureModel implements RuleModel {
  private constructor(
    readonly folder: string,
    readonly config: HashedModelConfig,
    readonly featurizer: Featurizer,
    private readonly session: InferenceSession,
  ) {}

  static async load(folder: string, raw: Record<string, unknown>, options: { threads?: number }): Promise<HashedFeatureModel> {
    const config = raw as unknown as HashedModelConfig;
    for (const key of ['input', 'output', 'labels'] as const) {
      if (!config[key]) throw new RuleModelError(folder, `config.json lacks "${key}"`);
    }
    const featurizer = new Featurizer(config.featurizer);
    const session = await openSession(folder, ['model.onnx'], options.threads);
    if (!session.inputNames.includes(config.input) || !session.outputNames.includes(config.output)) {
      await session.release();
      throw new RuleModelError(folder, `model.onnx has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; config.json names "${config.input}" -> "${config.output}"`);
    }
    return new HashedFeatureModel(folder, config, featurizer, session);
  }

  get labels(): string[] {
    return this.config.labels;
  }

  get labelToRule(): Record<string, string> {
    return this.config.labelToRule ?? {};
  }

  async predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]> {
    if (pairs.length === 0) return [];
    const dim = this.featurizer.dim;
    const features = new Float32Array(pairs.length * dim);
    pairs.forEach((pair, i) => this.featurizer.fill(features.subarray(i * dim, (i + 1) * dim), pair.context, pair.response));
    const outputs = await this.session.run({ [this.config.input]: new Tensor('float32', features, [pairs.length, dim]) });
    const out = outputs[this.config.output];
    return labelRows(this.folder, this.config.output, out.dims, out.data as Float32Array, this.labels, pairs.length);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
