/**
 * Safety (Sparrow's rules with rule models; LaMDA's safety filter). The user's input is checked
 * in `inspect` (refused when it asks for a violation), every candidate is scored in `score`
 * (`safety.<rule>`) and rejected in `filter` with the rule id as the reason. When every candidate
 * is rejected, `finalize` swaps the core's fallback for the preset's own safe reply. A streamed
 * reply is checked sentence by sentence (`checkPartial`) before each sentence is shown.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../../core/index.js';
import { validatePluginConfig } from '../../core/index.js';
import type { BotHost, Command, JSONSchema, Plugin, Preset, Turn } from '../../core/index.js';
import { BuiltinDetectors, loadLexicons } from './builtin/index.js';
import { loadRuleModel, type RuleModel } from './classifier.js';
import { SafetyChecker, type RuleScore } from './checker.js';
import { EvasionFolder } from './evasion.js';
import { JudgeModel, judgeSchema, type JudgeSettings } from './judge-model.js';
import type { DialogueEngine } from '../../core/index.js';
import { Featurizer, type FeaturizerSpec } from './featurize.js';
import { TextNormalizer } from './normalize.js';
import { actionOn, effectiveThreshold, loadRulesFile, type RuleSpec, type Side, type ThresholdLimits } from './rules.js';

/** A rule model folder (default: the shipped n-gram model) and, optionally, its label -> rule map. */
export interface ModelRef {
  path?: string;
  labelToRule?: Record<string, string>;
  threads?: number;
  /** The folder is a causal language model run by the engine, used as a judge (see judge-model.ts). */
  judge?: JudgeSettings;
}

export interface SafetyConfig {
  /** Rules file (YAML/JSON); default: the shipped plugins/safety/rules.yaml. */
  rules?: string;
  /**
   * The rule models (one or a list): each a folder and its label -> rule map; a rule fires when any
   * of its labels in any model does. Default: the shipped models. `false` turns model detectors off.
   */
  model?: false | ModelRef | ModelRef[];
  /** Rule ids to switch off. */
  disable: string[];
  /** The owner's thresholds (override the rules file). */
  thresholds: Record<string, number>;
  /** How far presets and channels may move each rule's threshold. */
  limits: Record<string, ThresholdLimits>;
  /** Said when the user's input is refused (a preset's `plugins.safety.refusal` wins). */
  refusal: string;
  /** Said when the user's message speaks of harming themselves (rules with input action `care`). */
  care: string;
  /** Said when every candidate was rejected (a preset's `plugins.safety.fallback` wins; else the core's fallback). */
  fallback?: string;
}

/** What a preset (or a channel, under `conversation.state.safety`) may set. */
export interface SafetyOverrides {
  thresholds?: Record<string, number>;
  refusal?: string;
  care?: string;
  fallback?: string;
}

export interface FiredRule {
  rule: string;
  action: string;
  score: number;
  threshold: number;
  evidence: string;
}

/** Written to `turn.data.safety`. */
export interface SafetyTurnData {
  thresholds: Record<string, number>;
  /** Every input rule's score (fired or not), for the trace and the inspector. */
  inputScores: Record<string, number>;
  input: FiredRule[];
  /** Candidate thresholds lowered for this turn by rules that fired on the input (`steer`). */
  steer: Record<string, number>;
  candidates: { index: number; fired: FiredRule[] }[];
  refused: boolean;
  fallback: boolean;
}

const PROBABILITY = { type: 'number', minimum: 0, maximum: 1 };
const DEFAULT_CARE =
  "I'm really sorry you're feeling this way, and I'm glad you told me. You don't have to go through this alone: please talk to someone you trust, or reach a crisis line (in the US call or text 988; in the UK and Ireland call Samaritans on 116 123; elsewhere findahelpline.com lists free, confidential lines). If you're in danger right now, call your local emergency number.";
const THRESHOLDS = { type: 'object', additionalProperties: PROBABILITY };

export const overridesSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { thresholds: THRESHOLDS, refusal: { type: 'string', minLength: 1 }, care: { type: 'string', minLength: 1 }, fallback: { type: 'string', minLength: 1 } },
};

const MODEL_REF = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', minLength: 1 },
    labelToRule: { type: 'object', additionalProperties: { type: 'string' } },
    threads: { type: 'integer', minimum: 1 },
    judge: judgeSchema,
  },
  // A judge is a language model folder: it needs its path.
  if: { required: ['judge'] },
  then: { required: ['path'] },
};

export const configSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rules: { type: 'string', minLength: 1 },
    model: { oneOf: [{ const: false }, MODEL_REF, { type: 'array', minItems: 1, items: MODEL_REF }] },
    disable: { type: 'array', items: { type: 'string' }, default: [] },
    thresholds: { ...THRESHOLDS, default: {} },
    limits: {
      type: 'object',
      default: {},
      additionalProperties: { type: 'object', additionalProperties: false, properties: { min: PROBABILITY, max: PROBABILITY } },
    },
    refusal: { type: 'string', minLength: 1, default: "I won't help with that. Could we talk about something else?" },
    care: { type: 'string', minLength: 1, default: DEFAULT_CARE },
    fallback: { type: 'string', minLength: 1 },
  },
};

export const SHIPPED_RULES = () => join(packageRoot(), 'plugins', 'safety', 'rules.yaml');
export const SHIPPED_MODEL = () => join(packageRoot(), 'models', 'safety-rules');
export const SHIPPED_TRANSFORMER_MODEL = () => join(packageRoot(), 'models', 'safety-rules-transformer');
/**
 * Both shipped rule models: a rule fires when either does (see tools/safety/train_transformer.py).
 * The transformer runs on 2 threads, as the engine does: 16 replies take about 90 ms instead of 130.
 */
export const SHIPPED_MODELS: ModelRef[] = [{}];

/** The shipped n-gram model's featurizer spec: its normalization also serves detectors and text-pair models. */
export async function shippedFeaturizerSpec(): Promise<FeaturizerSpec> {
  return (JSON.parse(await readFile(join(SHIPPED_MODEL(), 'config.json'), 'utf8')) as { featurizer: FeaturizerSpec }).featurizer;
}

/** Builds the checker a config describes (used by the plugin and by bench/eval/safety.ts). */
export async function createChecker(
  config: Pick<SafetyConfig, 'rules' | 'model' | 'disable'>,
  resolvePath: (path: string) => string = (path) => path,
  warn?: (message: string) => void,
  /** Loads a causal LM for judge models (the plugin passes `bot.loadEngine`). */
  loadEngine?: (path: string) => Promise<DialogueEngine>,
): Promise<{ checker: SafetyChecker; models: RuleModel[] }> {
  const rulesFile = config.rules ? resolvePath(config.rules) : SHIPPED_RULES();
  const allRules = await loadRulesFile(rulesFile);
  for (const id of config.disable) {
    if (!allRules.some((r) => r.id === id)) throw new Error(`safety: "disable" names "${id}", which is not a rule in ${rulesFile}`);
  }
  const rules = allRules.filter((rule) => !config.disable.includes(rule.id));
  const shipped = await shippedFeaturizerSpec();
  const normalizer = new TextNormalizer(shipped.normalize);
  const [folder, lexicons] = await Promise.all([EvasionFolder.load(), loadLexicons()]);
  const builtins = new BuiltinDetectors(lexicons);
  const refs = config.model === false ? [] : config.model === undefined ? SHIPPED_MODELS : [config.model].flat();
  const models: RuleModel[] = [];
  try {
    const ruleText = Object.fromEntries(rules.map((rule) => [rule.id, rule.rule]));
    for (const ref of refs) {
      if (ref.judge) {
        if (!loadEngine) throw new Error('safety: a judge model needs an engine loader (createChecker was called without one)');
        const folder = resolvePath(ref.path!);
        models.push(new JudgeModel(folder, await loadEngine(folder), ref.judge, ruleText));
        continue;
      }
      models.push(await loadRuleModel(ref.path ? resolvePath(ref.path) : SHIPPED_MODEL(), { threads: ref.threads, normalizer }));
    }
    // The detectors normalize text as the configured n-gram model does, else as the shipped one.
    const featurizer = models.find((model) => model.featurizer)?.featurizer ?? new Featurizer(shipped);
    const mapped = models.map((model, i) => ({ model, labelToRule: refs[i].labelToRule ?? model.labelToRule }));
    return { checker: new SafetyChecker({ rules, featurizer, folder, builtins, models: mapped, warn }), models };
  } catch (error) {
    await Promise.all(models.map((model) => model.dispose()));
    throw error;
  }
}

function overridesOf(preset: Preset): SafetyOverrides {
  return (preset.plugins.safety ?? {}) as SafetyOverrides;
}

/** Per-channel overrides live in the conversation's state (kept only when well-formed). */
function channelThresholds(turn: Turn): Record<string, number> | undefined {
  const state = turn.conversation.state.safety as SafetyOverrides | undefined;
  const thresholds = state?.thresholds;
  if (!thresholds || typeof thresholds !== 'object') return undefined;
  return Object.fromEntries(Object.entries(thresholds).filter(([, v]) => typeof v === 'number' && v >= 0 && v <= 1));
}

function formatFired(fired: FiredRule): string {
  return `${fired.rule} (p=${fired.score.toFixed(2)})`;
}

export function createSafetyPlugin(): Plugin<SafetyConfig> {
  let config: SafetyConfig;
  let checker: SafetyChecker;
  let models: RuleModel[] = [];
  // Rule scores with their evidence, from the score stage to the filter stage of the same turn.
  const evidenceByTurn = new WeakMap<Turn, Map<string, RuleScore>[]>();

  const data = (turn: Turn): SafetyTurnData => {
    const existing = turn.data.safety as SafetyTurnData | undefined;
    if (existing) return existing;
    const created: SafetyTurnData = { thresholds: {}, inputScores: {}, input: [], steer: {}, candidates: [], refused: false, fallback: false };
    turn.data.safety = created;
    return created;
  };

  const thresholdsFor = (turn: Turn, rules: RuleSpec[]): Record<string, number> => {
    const layers = [overridesOf(turn.preset).thresholds, channelThresholds(turn)];
    const steer = data(turn).steer;
    const out = Object.fromEntries(
      rules.map((rule) => [rule.id, Math.min(effectiveThreshold(rule, config.thresholds, config.limits, layers), steer[rule.id] ?? 1)]),
    );
    Object.assign(data(turn).thresholds, out);
    return out;
  };

  const fired = (side: Side, rules: RuleSpec[], scores: Map<string, RuleScore>, thresholds: Record<string, number>): FiredRule[] =>
    rules
      .filter((rule) => (scores.get(rule.id)?.score ?? 0) >= thresholds[rule.id])
      .map((rule) => ({ rule: rule.id, action: actionOn(rule, side)!, threshold: thresholds[rule.id], ...scores.get(rule.id)! }))
      .sort((a, b) => b.score - a.score);

  /** `/safety`: this channel's thresholds; admins move one within the owner's limits. */
  const safetyCommand: Command = {
    name: 'safety',
    description: "Show this conversation's safety thresholds; `/safety RULE VALUE` sets one (within the owner's limits), `/safety reset` clears",
    admin: true,
    argument: { name: 'rule value', description: 'A rule id and a threshold from 0 to 1, or reset', required: false },
    async run({ bot, conversation, args }) {
      const preset = bot.presets.get(conversation.preset);
      const state = (conversation.state.safety ?? {}) as SafetyOverrides;
      const effective = (rule: RuleSpec) =>
        effectiveThreshold(rule, config.thresholds, config.limits, [
          preset && overridesOf(preset).thresholds,
          (conversation.state.safety as SafetyOverrides | undefined)?.thresholds,
        ]);
      if (args === 'reset') {
        delete conversation.state.safety;
        await bot.saveConversation(conversation);
        return 'Safety thresholds reset to the preset\'s.';
      }
      if (args) {
        const [id, raw] = args.split(/\s+/);
        const rule = checker.rules.find((r) => r.id === id);
        const value = Number(raw);
        if (!rule) return `No rule "${id}". Rules: ${checker.rules.map((r) => r.id).join(', ')}`;
        if (raw === undefined || !(value >= 0 && value <= 1)) return 'Give a threshold from 0 to 1, e.g. `/safety insult 0.6`.';
        conversation.state.safety = { ...state, thresholds: { ...state.thresholds, [rule.id]: value } };
        await bot.saveConversation(conversation);
        const now = effective(rule);
        return `${rule.id} threshold for this conversation: ${now}${now !== value ? ' (limited by the bot owner)' : ''}.`;
      }
      return checker.rules.map((rule) => `${rule.id}: ${effective(rule)} - ${rule.rule}`).join('\n');
    },
  };

  return {
    name: 'safety',
    configSchema,
    scores: { 'safety.*': 0 },

    async setup(bot: BotHost, value: SafetyConfig) {
      config = value;
      // A preset's overrides are checked at start, so a typo fails there rather than mid-conversation.
      for (const preset of bot.presets.list()) {
        if (preset.plugins.safety !== undefined) {
          validatePluginConfig('safety', overridesSchema, preset.plugins.safety, { file: preset.file ?? `preset ${preset.name}`, path: '/plugins/safety' });
        }
      }
      const warn = (message: string) => bot.logger.warn(message);
      ({ checker, models } = await createChecker(config, (path) => bot.resolvePath(path), warn, (path) => bot.loadEngine(path)));
      for (const id of [...Object.keys(config.thresholds), ...Object.keys(config.limits)]) {
        if (!checker.rules.some((rule) => rule.id === id)) throw new Error(`safety: thresholds/limits name "${id}", which is not an enabled rule`);
      }
      bot.commands.set(safetyCommand.name, safetyCommand);
    },

    async inspect(turn) {
      const started = performance.now();
      const rules = checker.rulesOn('input');
      if (rules.length === 0) return;
      const [scores] = await checker.score('input', [{ context: '', text: turn.message.text }]);
      const hits = fired('input', rules, scores, thresholdsFor(turn, rules));
      const safety = data(turn);
      safety.inputScores = Object.fromEntries([...scores].map(([rule, { score }]) => [rule, score]));
      safety.input = hits;
      if (hits.length === 0) return;
      // An input that flags a rule makes the reply rules it names stricter for this turn.
      for (const hit of hits) {
        for (const [rule, threshold] of Object.entries(rules.find((r) => r.id === hit.rule)!.steer ?? {})) {
          safety.steer[rule] = Math.min(safety.steer[rule] ?? 1, threshold);
        }
      }
      // Self-harm gets a caring reply rather than a refusal; other blocking rules a refusal in the preset's voice.
      const caring = hits.some((hit) => hit.action === 'care');
      const refusing = caring || hits.some((hit) => hit.action === 'refuse');
      const outcome = caring ? 'answered with care' : refusing ? 'refused' : 'flagged';
      turn.trace.push({ stage: 'inspect', by: 'safety', ms: performance.now() - started, note: `input ${outcome}: ${hits.map(formatFired).join(', ')}` });
      if (!refusing) return;
      safety.refused = true;
      const overrides = overridesOf(turn.preset);
      const text = caring ? (overrides.care ?? config.care) : (overrides.refusal ?? config.refusal);
      turn.reply = { kind: 'refusal', text, citations: [] };
    },

    async score(turn) {
      const rules = checker.rulesOn('candidate');
      if (rules.length === 0 || turn.candidates.length === 0) return;
      const scores = await checker.score('candidate', turn.candidates.map((c) => ({ context: turn.message.text, text: c.text })));
      turn.candidates.forEach((candidate, i) => {
        for (const [rule, { score }] of scores[i]) candidate.scores[`safety.${rule}`] = score;
      });
      evidenceByTurn.set(turn, scores);
    },

    filter(turn) {
      const started = performance.now();
      const rules = checker.rulesOn('candidate');
      const evidence = evidenceByTurn.get(turn);
      if (!evidence) return;
      const thresholds = thresholdsFor(turn, rules);
      const safety = data(turn);
      const notes: string[] = [];
      // A rule that requires an input rule (encouragement after a risky message) is off in other turns.
      const firedOnInput = new Set(safety.input.map((hit) => hit.rule));
      const active = rules.filter((rule) => !rule.requiresInput || rule.requiresInput.some((id) => firedOnInput.has(id)));
      turn.candidates.forEach((candidate, index) => {
        // Another stage's rejection (an empty reply) stands; its safety scores stay for the record.
        if (candidate.rejected) return;
        const hits = fired('candidate', active, evidence[index], thresholds);
        if (hits.length === 0) return;
        safety.candidates.push({ index, fired: hits });
        const rejecting = hits.find((hit) => hit.action === 'reject');
        if (rejecting) {
          candidate.rejected = { by: 'safety', reason: formatFired(rejecting) };
          notes.push(`#${index} rejected: ${formatFired(rejecting)}`);
        } else {
          notes.push(`#${index} flagged: ${hits.map(formatFired).join(', ')}`);
        }
      });
      if (notes.length > 0) turn.trace.push({ stage: 'filter', by: 'safety', ms: performance.now() - started, note: notes.join('; ') });
    },

    /**
     * Streaming: each newly completed sentence is scored as a candidate reply (with the user's
     * message as its context) before it is shown; a `reject` rule that fires stops the stream.
     */
    async checkPartial({ sentence }, turn) {
      const rules = checker.rulesOn('candidate');
      if (rules.length === 0) return undefined;
      const [scores] = await checker.score('candidate', [{ context: turn.message.text, text: sentence }]);
      const rejecting = fired('candidate', rules, scores, thresholdsFor(turn, rules)).find((hit) => hit.action === 'reject');
      return rejecting ? { reason: `${formatFired(rejecting)} in "${sentence}"` } : undefined;
    },

    finalize(turn) {
      if (turn.reply?.kind !== 'fallback') return;
      if (!turn.candidates.some((candidate) => candidate.rejected?.by === 'safety')) return;
      const text = overridesOf(turn.preset).fallback ?? config.fallback;
      data(turn).fallback = true;
      if (text) turn.reply = { ...turn.reply, text };
      turn.trace.push({ stage: 'finalize', by: 'safety', ms: 0, note: `every candidate rejected: ${text ? 'safe fallback in the preset\'s voice' : 'core fallback kept'}` });
    },

    async dispose() {
      await Promise.all(models.map((model) => model.dispose()));
    },
  };
}

export default createSafetyPlugin;
