/**
 * Scores texts against the safety rules: each rule's score is the highest of its detectors
 * (rule-model labels mapped to it, lexicons, patterns). Shared by the plugin and the evaluation.
 */
import { basename } from 'node:path';
import type { BuiltinDetectors } from './builtin/index.js';
import { normalizedText, textDetectors, type TextDetector } from './detectors.js';
import type { EvasionFolder } from './evasion.js';
import type { Featurizer } from './featurize.js';
import type { RuleModel } from './model-files.js';
import { actionOn, type RuleSpec, type Side } from './rules.js';

/** How the rule models judge a reply: in its context, alone, or both (the plugin: both). */
export type View = 'context' | 'alone';

export interface RuleScore {
  score: number;
  /** What produced the score: `model:<label>`, `lexicon "..."`, `pattern #n`. */
  evidence: string;
}

/** A rule model and how its labels map onto rules (labels mapped to no rule are ignored). */
export interface MappedModel {
  model: RuleModel;
  labelToRule: Record<string, string>;
}

export interface CheckerOptions {
  rules: RuleSpec[];
  /** Its normalizer prepares text for the lexicon and pattern detectors. */
  featurizer: Featurizer;
  /** Undoes disguised words before any detector or model reads the text. */
  folder: EvasionFolder;
  builtins: BuiltinDetectors;
  /** Empty: model detectors are off (rules then rely on their lexicons and patterns). */
  models: MappedModel[];
  warn?: (message: string) => void;
}

interface ModelLabel {
  model: number;
  label: string;
  evidence: string;
}

interface CompiledRule {
  spec: RuleSpec;
  labels: ModelLabel[];
  detectors: TextDetector[];
}

export class SafetyChecker {
  private readonly compiled: CompiledRule[];

  constructor(private readonly options: CheckerOptions) {
    for (const { model, labelToRule } of options.models) {
      for (const [label, rule] of Object.entries(labelToRule)) {
        if (!model.labels.includes(label)) {
          throw new Error(`safety labelToRule maps "${label}", which the rule model at ${model.folder} does not output (its labels: ${model.labels.join(', ')})`);
        }
        if (!options.rules.some((r) => r.id === rule)) options.warn?.(`safety: model label "${label}" maps to "${rule}", which is not a rule; it is ignored`);
      }
    }
    this.compiled = options.rules.map((spec) => {
      const wantsModel = spec.detectors.some((d) => d.type === 'model');
      // A label mapped onto the rule reads for it (a judge model names its rules itself).
      const labels = options.models.flatMap(({ model, labelToRule }, index) =>
        Object.keys(labelToRule)
          .filter((label) => labelToRule[label] === spec.id)
          .map((label) => ({ model: index, label, evidence: `model:${basename(model.folder)}/${label}` })),
      );
      const detectors = textDetectors(options.featurizer, options.builtins, spec.detectors);
      if (wantsModel && labels.length === 0 && detectors.length === 0) {
        options.warn?.(`safety rule "${spec.id}" has only a model detector and ${options.models.length ? 'no model label maps to it' : 'the rule models are off'}: it never fires`);
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
   * Scores of the rules that apply on `side`, for each (context, text) pair. A text with a context is
   * judged twice by the rule models, in its context and alone, and each label keeps the higher
   * probability: a reply must be safe by itself and as an answer (`views` says which view scored).
   * Each rule model runs once for all pairs and views, and only when some applicable rule reads it.
   */
  async score(side: Side, pairs: { context: string; text: string }[], views: View[] = ['context', 'alone']): Promise<Map<string, RuleScore>[]> {
    const rules = this.compiled.filter((rule) => actionOn(rule.spec, side) !== undefined);
    const needed = new Set(rules.flatMap((rule) => rule.labels.map((l) => l.model)));
    const texts = pairs.map((pair) => normalizedText(this.options.featurizer, this.options.folder, pair.text));
    const contexts = pairs.map((pair) => (pair.context ? normalizedText(this.options.featurizer, this.options.folder, pair.context).forModels : ''));
    // Row i judges pair i in its context (or alone when it has none); rows after them judge replies alone.
    const inContext = pairs.map((_, i) => ({ context: views.includes('context') ? contexts[i] : '', response: texts[i].forModels }));
    const aloneRows = views.includes('alone') && views.includes('context') ? pairs.flatMap((pair, i) => (pair.context ? [i] : [])) : [];
    const modelPairs = [...inContext, ...aloneRows.map((i) => ({ context: '', response: texts[i].forModels }))];
    const probabilities = await Promise.all(
      this.options.models.map(({ model }, index) => (needed.has(index) ? model.predict(modelPairs) : Promise.resolve([]))),
    );
    const aloneRow = new Map(aloneRows.map((pairIndex, k) => [pairIndex, pairs.length + k]));
    return pairs.map((pair, i) => {
      const text = texts[i];
      const scores = new Map<string, RuleScore>();
      for (const rule of rules) {
        let best: RuleScore = { score: 0, evidence: 'none' };
        // A rule about what a reply answers has nothing to judge when there is no message.
        const answersNothing = rule.spec.alone === false && (!pair.context || !views.includes('context'));
        for (const { model, label, evidence } of answersNothing ? [] : rule.labels) {
          const p = probabilities[model][i][label];
          if (p > best.score) best = { score: p, evidence };
          const alone = rule.spec.alone === false ? undefined : aloneRow.get(i);
          const q = alone === undefined ? 0 : probabilities[model][alone][label];
          if (q > best.score) best = { score: q, evidence: `${evidence} (alone)` };
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
