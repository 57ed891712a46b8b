/**
 * A causal language model as a rule model (the way Llama Guard-style models classify): for each
 * (context, reply) pair and each rule, a prompt from a plain template, and the probability that the
 * model answers with the "unsafe" word rather than the "safe" one, read from the engine's `score()`:
 * p = p(unsafe | prompt) / (p(unsafe | prompt) + p(safe | prompt)) (`normalize: pair`, the default), or
 * p(unsafe | prompt) itself (`normalize: none`). Any model folder the engine runs works; the engine is
 * the bot's (`bot.loadEngine`), so it is shared with other plugins and not disposed here.
 *
 * Templates are plain strings with `{rule}` (the rule in words, from rules.yaml), `{context}` (the
 * user's message) and `{reply}`; `aloneTemplate` is used for a reply judged without its message
 * (default: `template`). User text is inserted as text and encoded as text, never as control tokens.
 */
import type { DialogueEngine } from '../../core/index.js';
import { RuleModelError, type RuleModel } from './model-files.js';

export interface JudgeSettings {
  /** The prompt for every rule (placeholders `{rule}`, `{context}`, `{reply}`). */
  template: string;
  /** The prompt when a reply is judged without the user's message; default `template` with an empty `{context}`. */
  aloneTemplate?: string;
  /** The rules to judge (rule ids). */
  rules: string[];
  /** A rule's own prompt, instead of `template`. */
  ruleTemplates?: Record<string, string>;
  /** The answer that means unsafe, as the model would write it after the prompt (mind the leading space; default " unsafe"). */
  unsafeAnswer?: string;
  /** Default " safe". */
  safeAnswer?: string;
  /** Default `pair`. */
  normalize?: 'pair' | 'none';
}

export const judgeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['template', 'rules'],
  properties: {
    template: { type: 'string', minLength: 1 },
    aloneTemplate: { type: 'string', minLength: 1 },
    rules: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    ruleTemplates: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    unsafeAnswer: { type: 'string', minLength: 1 },
    safeAnswer: { type: 'string', minLength: 1 },
    normalize: { type: 'string', enum: ['pair', 'none'] },
  },
};

export function fillTemplate(template: string, values: { rule: string; context: string; reply: string }): string {
  // One pass, so that text inside a value is never read as a placeholder.
  return template.replace(/\{(rule|context|reply)\}/g, (_, key: keyof typeof values) => values[key]);
}

export class JudgeModel implements RuleModel {
  readonly labels: string[];
  readonly labelToRule: Record<string, string>;
  private readonly unsafeTokens: number[];
  private readonly safeTokens: number[];

  private readonly settings: Required<Omit<JudgeSettings, 'aloneTemplate' | 'ruleTemplates'>> & Pick<JudgeSettings, 'aloneTemplate' | 'ruleTemplates'>;

  constructor(
    readonly folder: string,
    private readonly engine: DialogueEngine,
    settings: JudgeSettings,
    /** Each judged rule's text (`{rule}`). */
    private readonly ruleText: Record<string, string>,
  ) {
    this.settings = { unsafeAnswer: ' unsafe', safeAnswer: ' safe', normalize: 'pair', ...settings };
    this.labels = [...new Set(settings.rules)];
    this.labelToRule = Object.fromEntries(this.labels.map((rule) => [rule, rule]));
    this.unsafeTokens = engine.tokenizer.encode(this.settings.unsafeAnswer);
    this.safeTokens = engine.tokenizer.encode(this.settings.safeAnswer);
    if (this.unsafeTokens.length === 0 || this.safeTokens.length === 0) throw new RuleModelError(folder, 'judge unsafeAnswer and safeAnswer must encode to at least one token');
    for (const rule of [...this.labels, ...Object.keys(this.settings.ruleTemplates ?? {})]) {
      if (this.ruleText[rule] === undefined) throw new RuleModelError(folder, `judge rules names "${rule}", which is not a rule`);
    }
  }

  /** The prompt for one rule and pair, as text. */
  prompt(rule: string, context: string, reply: string): string {
    const own = this.settings.ruleTemplates?.[rule];
    const shared = context || !this.settings.aloneTemplate ? this.settings.template : this.settings.aloneTemplate;
    const template = own ?? shared;
    return fillTemplate(template, { rule: this.ruleText[rule], context, reply });
  }

  async predict(pairs: { context: string; response: string }[]): Promise<Record<string, number>[]> {
    if (pairs.length === 0) return [];
    const jobs = pairs.flatMap((pair) => this.labels.map((rule) => this.engine.tokenizer.encode(this.prompt(rule, pair.context, pair.response))));
    const logprobs = await this.engine.score(jobs.flatMap((context) => [{ context, continuation: this.unsafeTokens }, { context, continuation: this.safeTokens }]));
    return pairs.map((_, i) =>
      Object.fromEntries(
        this.labels.map((rule, j) => {
          const k = 2 * (i * this.labels.length + j);
          const [unsafe, safe] = [logprobs[k], logprobs[k + 1]];
          const p = this.settings.normalize === 'none' ? Math.exp(unsafe) : 1 / (1 + Math.exp(safe - unsafe));
          return [rule, p];
        }),
      ),
    );
  }

  async dispose(): Promise<void> {
    // The engine is the bot's (or the caller's): whoever loaded it disposes of it.
  }
}
