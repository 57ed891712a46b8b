/**
 * A reward model as a candidate scorer (InstructGPT): a Hugging Face sequence classifier over
 * (context, reply) whose output is how much people would prefer the reply. Every candidate of a
 * turn is scored in batched runs, and the score lands in `candidate.scores.reward`, for the
 * selection weights (and `banter tune selection`) to weigh. The model runs through core's
 * PairClassifier, on the same session code as the dialogue engine (device, threads).
 *
 * A model with one output (OpenAssistant-style reward models, banter's own) gives its logit; one
 * with several labels gives the log-probability of `label` (default: the last label).
 */
import { join } from 'node:path';
import { PairClassifier } from '../../core/index.js';
import { packageRoot } from '../../core/index.js';
import type { BotHost, JSONSchema, Plugin, Turn } from '../../core/index.js';

export interface RewardConfig {
  /** Model folder (relative to the bot config); default: the shipped models/banter-reward. */
  model?: string;
  /** Where it runs, as `engine.device` (an unavailable GPU falls back to the CPU). */
  device: 'cpu' | 'webgpu' | 'cuda' | 'auto';
  threads?: number;
  /** How many of the latest turns are the reply's context (1: the user's message). */
  contextTurns: number;
  /** With several labels: which one's log-probability is the reward. */
  label?: string;
  /** Candidates per run. */
  batchSize: number;
}

export const configSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    device: { enum: ['cpu', 'webgpu', 'cuda', 'auto'], default: 'cpu' },
    threads: { type: 'integer', minimum: 1 },
    contextTurns: { type: 'integer', minimum: 1, default: 1 },
    label: { type: 'string', minLength: 1 },
    batchSize: { type: 'integer', minimum: 1, default: 16 },
  },
};

export const SHIPPED_REWARD_MODEL = () => join(packageRoot(), 'models', 'banter-reward');

/** The context the reward model reads: the latest turns of the prompt's history (the user's message last), one per line. */
export function rewardContext(turn: Turn, contextTurns: number): string {
  return turn.prompt.history
    .slice(-contextTurns)
    .map((h) => h.text)
    .join('\n');
}

/** One score from a row of logits: the logit itself, or the chosen label's log-probability. */
function rewardOf(logits: Float32Array, label: number): number {
  if (logits.length === 1) return logits[0];
  const top = Math.max(...logits);
  const logSum = top + Math.log(logits.reduce((sum, z) => sum + Math.exp(z - top), 0));
  return logits[label] - logSum;
}

export function createRewardPlugin(): Plugin<RewardConfig> {
  let config: RewardConfig;
  let classifier: PairClassifier | undefined;
  let label = 0;

  return {
    name: 'reward',
    configSchema,

    async setup(bot: BotHost, value: RewardConfig) {
      config = value;
      classifier = await PairClassifier.load(config.model ? bot.resolvePath(config.model) : SHIPPED_REWARD_MODEL(), { device: config.device, threads: config.threads });
      const { labels, folder } = classifier;
      label = config.label === undefined ? labels.length - 1 : labels.indexOf(config.label);
      if (label === -1) {
        await classifier.dispose();
        classifier = undefined;
        throw new Error(`reward: "label" is "${config.label}", which the model at ${folder} does not output (its labels: ${labels.join(', ')})`);
      }
      bot.logger.info({ model: folder, device: classifier.device }, 'reward model ready');
    },

    async score(turn) {
      // Empty candidates are already out (the core rejected them); the rest are scored, rejected or not, for the record.
      const scored = turn.candidates.filter((candidate) => candidate.text.trim());
      if (!classifier || scored.length === 0) return;
      const context = rewardContext(turn, config.contextTurns);
      for (let start = 0; start < scored.length; start += config.batchSize) {
        const batch = scored.slice(start, start + config.batchSize);
        const rows = await classifier.logits(batch.map((candidate) => ({ context, response: candidate.text })));
        batch.forEach((candidate, i) => (candidate.scores.reward = rewardOf(rows[i], label)));
      }
    },

    async dispose() {
      await classifier?.dispose();
    },
  };
}

export default createRewardPlugin;
