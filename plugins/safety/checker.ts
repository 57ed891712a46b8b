/**
 * Scores texts against the safety rules: each rule's score is the highest of its detectors
 * (rule-model labels mapped to it, lexicons, patterns). Shared by the plugin and the evaluation.
 */
import { normalizedText, textDetectors, type TextDetector } from './detectors.js';
import type { Featurizer } from './featurize.js';
import type { RuleModel } from './classifier.js';
import { actionOn, type RuleSpec, type Side } from './rules.js';

export interface RuleScore {
  score: number;
  /** What produced the score: `model:<label>`, `lexicon "..."`, `pattern #n`. */
  evidence: string;
}

export interface CheckerOptions {
  rules: RuleSpec[];
  featurizer: Featurizer;
  /** Absent: model detectors are off (rules then rely on their lexicons and patterns). */
  model?: RuleModel;
  /** Model label -> rule id; labels mapped to no rule are ignored. */
  labelToRule: Record<string, string>;
  warn?: (message: string) => void;
}

interface CompiledRule {
  spec: RuleSpec;
  labels: string[];
  detectors: TextDetector[];
}

export class SafetyChecker {
  private readonly compiled: CompiledRule[];

  constructor(private readonly options: CheckerOptions) {
    const modelLabels = new Set(options.model?.config.labels ?? []);
    for (const [label, rule] of Object.entries(options.labelToRule)) {
      if (options.model && !modelLabels.has(label)) {
        throw new Error(`safety labelToRule maps "${label}", which the rule model does not output (its labels: ${[...modelLabels].join(', ')})`);
      }
      if (!options.rules.some((r) => r.id === rule)) options.warn?.(`safety: model label "${label}" maps to "${rule}", which is not a rule; it is ignored`);
    }
    this.compiled = options.rules.map((spec) => {
      const wantsModel = spec.detectors.some((d) => d.type === 'model');
      const labels = wantsModel && options.model ? Object.keys(options.labelToRule).filter((label) => options.labelToRule[label] === spec.id) : [];
      const detectors = textDetectors(options.featurizer, spec.detectors);
      if (wantsModel && labels.length === 0 && detectors.length === 0) {
        options.warn?.(`safety rule "${spec.id}" has only a model detector and ${options.model ? 'no model label maps to it' : 'the rule model is off'}: it never fires`);
      }
      return { spec, labels, detectors };
    });
  }

  get rules(): RuleSpec[] {
    return this.compiled.map((rule) => rule.spec);
  }

  rulesOn(side: Side): RuleSpec[] {
    return this.rules.filter((rule) => actionOn(rule, side) !== undefined);
  }

  /**
   * Scores of the rules that apply on `side`, for each (context, text) pair. The rule model runs
   * once for all pairs, and only when some applicable rule reads it.
   */
  async score(side: Side, pairs: { context: string; text: string }[]): Promise<Map<string, RuleScore>[]> {
    const rules = this.compiled.filter((rule) => actionOn(rule.spec, side) !== undefined);
    const needsModel = this.options.model && rules.some((rule) => rule.labels.length > 0);
    const probabilities = needsModel ? await this.options.model!.predict(pairs.map((p) => ({ context: p.context, response: p.text }))) : [];
    return pairs.map((pair, i) => {
      const text = normalizedText(this.options.featurizer, pair.text);
      const scores = new Map<string, RuleScore>();
      for (const rule of rules) {
        let best: RuleScore = { score: 0, evidence: 'none' };
        for (const label of rule.labels) {
          const p = probabilities[i][label];
          if (p > best.score) best = { score: p, evidence: `model:${label}` };
        }
        for (const detector of rule.detectors) {
          const hit = detector.detect(text);
          if (hit && hit.score > best.score) best = { score: hit.score, evidence: hit.evidence };
        }
        scores.set(rule.spec.id, best);
      }
      return scores;
    });
  }
}
