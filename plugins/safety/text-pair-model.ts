/**
 * A Hugging Face sequence classifier as a rule model: the folder holds `config.json` (`id2label`,
 * `problem_type`), `tokenizer.json` (+ `tokenizer_config.json`) and an ONNX export with output
 * `logits` `[batch, labels]`. Loading, pair encoding and batched runs are core's PairClassifier
 * (shared with the reward plugin); this adds the safety normalization the folder asks for, the
 * label -> rule map and the probabilities (sigmoid per label, or softmax).
 */
import { ClassifierFolderError, PairClassifier } from '../../core/index.js';
import { RuleModelError, type RuleModel } from './model-files.js';
import type { TextNormalizer } from './normalize.js';

/** banter's reading settings, in `config.json` under `banter` (all optional). */
export interface PairInputSettings {
  /** Which safety normalization the model reads: `light` (Unicode folding, case kept; default), `full` (lower case, leetspeak and spacing undone) or `raw`. */
  normalize?: 'raw' | 'light' | 'full';
  maxContextTokens?: number;
  maxResponseTokens?: number;
}

export class TextPairModel implements RuleModel {
  private constructor(
    private readonly classifier: PairClassifier,
    readonly labelToRule: Record<string, string>,
    private readonly multiLabel: boolean,
  ) {}

  get folder(): string {
    return this.classifier.folder;
  }

  get labels(): string[] {
    return this.classifier.labels;
  }

  static async load(folder: string, config: Record<string, unknown>, options: { threads?: number; normalizer?: TextNormalizer }): Promise<TextPairModel> {
    const problem = config.problem_type;
    if (problem !== undefined && problem !== 'multi_label_classification' && problem !== 'single_label_classification') {
      throw new RuleModelError(folder, `config.json "problem_type" is "${String(problem)}": a rule model needs multi_label_classification (sigmoid per label) or single_label_classification (softmax)`);
    }
    const form = ((config.banter ?? {}) as PairInputSettings).normalize ?? 'light';
    const normalizer = options.normalizer;
    const normalize = form === 'raw' || !normalizer ? undefined : form === 'full' ? (text: string) => normalizer.full(text) : (text: string) => normalizer.light(text);
    let classifier: PairClassifier;
    try {
      classifier = await PairClassifier.load(folder, { threads: options.threads ?? 1, normalize });
    } catch (error) {
      throw error instanceof ClassifierFolderError ? new RuleModelError(folder, error.detail, { cause: error }) : error;
    }
    if (form !== 'raw' && !normalizer) {
      await classifier.dispose();
      throw new RuleModelError(folder, `reads "${form}"-normalized text, and no safety normalizer was given`);
    }
    return new TextPairModel(classifier, (config.labelToRule ?? {}) as Record<string, string>, problem === 'multi_label_classification');
  }

  /** Token ids and segment ids of one pair, as the model reads it. */
  encode(context: string, response: string): { ids: number[]; types: number[] } {
    return this.classifier.encode(context, response);
  }

  async predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]> {
    const rows = await this.classifier.logits(pairs);
    return rows.map((logits) => {
      let probabilities: number[];
      if (this.multiLabel) probabilities = [...logits].map((z) => 1 / (1 + Math.exp(-z)));
      else {
        const top = Math.max(...logits);
        const sum = logits.reduce((acc, z) => acc + Math.exp(z - top), 0);
        probabilities = [...logits].map((z) => Math.exp(z - top) / sum);
      }
      return Object.fromEntries(this.labels.map((label, j) => [label, probabilities[j]]));
    });
  }

  async dispose(): Promise<void> {
    await this.classifier.dispose();
  }
}
