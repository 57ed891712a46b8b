/** Safety rules as data: the file format, its schema, loading, and threshold resolution. */
import { readConfigFile } from '../../core/index.js';
import { validatePluginConfig } from '../../core/index.js';
import type { JSONSchema } from '../../core/index.js';

export type CandidateAction = 'reject' | 'flag';
/** `care`: answer with the caring reply (self-harm) instead of a refusal. */
export type InputAction = 'refuse' | 'care' | 'flag';
export type Side = 'input' | 'candidate';

export type DetectorSpec =
  | { type: 'model' }
  | { type: 'lexicon'; terms: string[] }
  | { type: 'pattern'; on: 'full' | 'light'; patterns: string[] }
  /** One of banter's built-in detectors (plugins/safety/builtin): lexicons with patterns around them. */
  | { type: 'builtin'; name: string };

export interface RuleSpec {
  id: string;
  rule: string;
  detectors: DetectorSpec[];
  threshold: number;
  action: 'reject' | 'refuse' | 'flag' | { input?: InputAction; candidate?: CandidateAction };
  appliesTo: 'input' | 'candidate' | 'both';
  /** Steering: when this rule fires on the user's input, these candidate rules' thresholds drop to at most these values for the turn. */
  steer?: Record<string, number>;
  /** On candidates, the rule applies only in a turn where one of these rules fired on the user's input. */
  requiresInput?: string[];
  /**
   * Whether the rule models also judge a reply alone for this rule (default true). False for rules
   * about what a reply answers (agreeing with a toxic message, ignoring a risk): alone, "Yeah, I agree."
   * says nothing unsafe.
   */
  alone?: boolean;
}

export interface RulesFile {
  rules: RuleSpec[];
}

const ACTION_WORD = { type: 'string', enum: ['reject', 'refuse', 'flag'] };

export const rulesFileSchema: JSONSchema = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'rule', 'detectors', 'threshold', 'action', 'appliesTo'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
          rule: { type: 'string', minLength: 1 },
          threshold: { type: 'number', minimum: 0, maximum: 1 },
          appliesTo: { type: 'string', enum: ['input', 'candidate', 'both'] },
          steer: { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 1 } },
          requiresInput: { type: 'array', minItems: 1, items: { type: 'string' } },
          alone: { type: 'boolean' },
          action: {
            oneOf: [
              ACTION_WORD,
              {
                type: 'object',
                additionalProperties: false,
                minProperties: 1,
                properties: { input: { type: 'string', enum: ['refuse', 'care', 'flag'] }, candidate: { type: 'string', enum: ['reject', 'flag'] } },
              },
            ],
          },
          detectors: {
            type: 'array',
            minItems: 1,
            items: {
              oneOf: [
                { type: 'object', required: ['type'], additionalProperties: false, properties: { type: { const: 'model' } } },
                {
                  type: 'object',
                  required: ['type', 'terms'],
                  additionalProperties: false,
                  properties: { type: { const: 'lexicon' }, terms: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
                },
                { type: 'object', required: ['type', 'name'], additionalProperties: false, properties: { type: { const: 'builtin' }, name: { type: 'string', minLength: 1 } } },
                {
                  type: 'object',
                  required: ['type', 'on', 'patterns'],
                  additionalProperties: false,
                  properties: {
                    type: { const: 'pattern' },
                    on: { type: 'string', enum: ['full', 'light'] },
                    patterns: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
                  },
                },
              ],
            },
          },
        },
      },
    },
  },
};

export async function loadRulesFile(file: string): Promise<RuleSpec[]> {
  const raw = await readConfigFile(file, 'safety rules file');
  const { rules } = validatePluginConfig<RulesFile>('safety rules', rulesFileSchema, raw, { file, path: '' });
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) throw new Error(`${file}: the safety rule id "${rule.id}" is used twice; ids must be unique`);
    seen.add(rule.id);
  }
  for (const rule of rules) {
    for (const target of Object.keys(rule.steer ?? {})) {
      if (!seen.has(target)) throw new Error(`${file}: the safety rule "${rule.id}" steers "${target}", which is not a rule`);
    }
    for (const target of rule.requiresInput ?? []) {
      if (!seen.has(target)) throw new Error(`${file}: the safety rule "${rule.id}" requires input rule "${target}", which is not a rule`);
    }
  }
  return rules;
}

/** What a rule does on one side, or undefined when it does not apply there. */
export function actionOn(rule: RuleSpec, side: Side): InputAction | CandidateAction | undefined {
  if (rule.appliesTo !== 'both' && rule.appliesTo !== side) return undefined;
  const action = rule.action;
  if (typeof action === 'object') return action[side];
  if (action === 'flag') return 'flag';
  // One blocking word covers both sides: a candidate is rejected, an input is refused.
  return side === 'input' ? 'refuse' : 'reject';
}

export interface ThresholdLimits {
  min?: number;
  max?: number;
}

/**
 * A rule's effective threshold: the bot owner's value (config `thresholds`, else the rules file),
 * then the preset's override, then the channel's, each override clamped to the owner's limits.
 */
export function effectiveThreshold(
  rule: RuleSpec,
  owner: Record<string, number>,
  limits: Record<string, ThresholdLimits>,
  overrides: (Record<string, number> | undefined)[],
): number {
  let threshold = owner[rule.id] ?? rule.threshold;
  const limit = limits[rule.id] ?? {};
  for (const layer of overrides) {
    const value = layer?.[rule.id];
    if (value === undefined) continue;
    threshold = Math.min(limit.max ?? 1, Math.max(limit.min ?? 0, value));
  }
  return threshold;
}
