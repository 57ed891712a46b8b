/**
 * The rule model: an ONNX classifier giving one violation probability per label for a
 * (context, response) pair, run by onnxruntime-node. Two kinds of model folder load:
 * - banter's hashed n-gram classifier (`config.json` with a `featurizer` spec): hashed-model.ts;
 * - a Hugging Face sequence classifier (`config.json` with `id2label`, `tokenizer.json` and an ONNX
 *   export of it: a fine-tuned DistilBERT, RoBERTa, GPT-2, ...): text-pair-model.ts.
 */
import { HashedFeatureModel } from './hashed-model.js';
import { readModelJson, RuleModelError, type RuleModel } from './model-files.js';
import type { TextNormalizer } from './normalize.js';
import { TextPairModel } from './text-pair-model.js';

export { RuleModelError, type RuleModel } from './model-files.js';

/** Loads whichever kind of rule model the folder holds. */
export async function loadRuleModel(folder: string, options: { threads?: number; normalizer?: TextNormalizer } = {}): Promise<RuleModel> {
  const config = await readModelJson(folder, 'config.json', 'labels and how the model reads text');
  if (config.featurizer) {
    return HashedFeatureModel.load(folder, config, options);
  }
  if (config.id2label) {
    return TextPairModel.load(folder, config, options);
  }
  throw new RuleModelError(folder, 'config.json has neither "featurizer" (a banter hashed n-gram model) nor "id2label" (a Hugging Face sequence classifier)');
}
