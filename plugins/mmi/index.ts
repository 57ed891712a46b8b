/**
 * MMI reranking (DialoGPT): every candidate is scored with a backward model,
 * log p(source | candidate) per source token, where the source is the last `lastTurns` turns of
 * the dialogue (the user's message first). All candidates go to the backward engine in ONE batched
 * `score` call. The score lands in `candidate.scores.mmi`; the core's selection weights combine it
 * with the forward log-probability and other plugins' scores (`{ mmi: 1 }` is DialoGPT's pure MMI).
 *
 * The backward model's folder declares its dialogue format (`dialogue_format.json`): banter's
 * backward model reads `<|bot|>reply<|endoftext|><|user|>message...`, a DialoGPT-style reverse
 * model `reply<|endoftext|>message<|endoftext|>`; a `prefix` (a two-way model's direction token)
 * is placed first by the engine.
 */
import { join } from 'node:path';
import { packageRoot } from '../../core/index.js';
import type { DialogueEngine, ScorePair } from '../../core/index.js';
import type { BotHost, HistoryTurn, JSONSchema, Plugin, Turn } from '../../core/index.js';

export interface MmiConfig {
  /** Backward model folder (relative to the bot config); default: the shipped banter-chat-backward. */
  model?: string;
  /** How many of the latest turns form the source (1: the user's message). */
  lastTurns: number;
  /** Divide the log-probability by the source length in tokens (DialoGPT compares per-token losses). */
  normalize: boolean;
}

export const configSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    lastTurns: { type: 'integer', minimum: 1, default: 1 },
    normalize: { type: 'boolean', default: true },
  },
};

export const SHIPPED_BACKWARD_MODEL = () => join(packageRoot(), 'models', 'banter-chat-backward');

type TurnText = Pick<HistoryTurn, 'role' | 'text'>;

export class MmiFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MmiFormatError';
  }
}

/**
 * The (context, continuation) pair for log p(source | reply) in the backward model's format:
 * the reply comes first, then the source turns newest first. The continuation is what the full
 * encoding adds after the reply's own encoding (so any prefix and templates stay the model's).
 */
export function backwardPair(engine: DialogueEngine, reply: string, source: TurnText[]): ScorePair {
  if (engine.direction !== 'backward') {
    throw new MmiFormatError(
      `the MMI model ${engine.info.path} reads dialogues "${engine.direction}"; MMI needs a backward model (dialogue_format.json "direction": "backward")`,
    );
  }
  const replyTurn: TurnText = { role: 'bot', text: reply };
  const newestFirst = [...source].reverse();
  const context = engine.encodeTurns([replyTurn]);
  const full = engine.encodeTurns([replyTurn, ...newestFirst]);
  if (!context.every((token, i) => full[i] === token)) {
    throw new MmiFormatError(`the MMI model's format does not encode a reply turn as a prefix of the reversed dialogue (${engine.info.path})`);
  }
  return { context, continuation: full.slice(context.length) };
}

/** The source turns of a turn: the last `k` turns of the prompt's history (it ends with the user's message). */
export function sourceTurns(turn: Turn, k: number): TurnText[] {
  const history = turn.prompt.history.length > 0 ? turn.prompt.history : [{ role: 'user' as const, text: turn.message.text }];
  return history.slice(-k).map(({ role, text }) => ({ role, text }));
}

/** Backward scores of `replies` given `source`, in one engine call; per source token when `normalize`. */
export async function mmiScores(engine: DialogueEngine, replies: string[], source: TurnText[], normalize: boolean): Promise<number[]> {
  const pairs = replies.map((reply) => backwardPair(engine, reply, source));
  const logprobs = await engine.score(pairs);
  return logprobs.map((logprob, i) => (normalize ? logprob / Math.max(1, pairs[i].continuation.length) : logprob));
}

export function createMmiPlugin(): Plugin<MmiConfig> {
  let config: MmiConfig;
  let backward: DialogueEngine;

  return {
    name: 'mmi',
    scores: { mmi: 1 },
    configSchema,

    async setup(bot: BotHost, value: MmiConfig) {
      config = value;
      backward = await bot.loadEngine(config.model ?? SHIPPED_BACKWARD_MODEL(), { requires: ['score'] });
      if (backward.direction !== 'backward') {
        throw new MmiFormatError(
          `plugins.mmi.model ${backward.info.path} is a "${backward.direction}" model; MMI needs a backward one: set "direction": "backward" in its dialogue_format.json (and "prefix" for a two-way model's direction token)`,
        );
      }
    },

    async score(turn) {
      // Empty candidates are already rejected by the core; they need no backward pass.
      const scored = turn.candidates.filter((candidate) => !candidate.rejected);
      if (scored.length === 0) return;
      const scores = await mmiScores(backward, scored.map((c) => c.text), sourceTurns(turn, config.lastTurns), config.normalize);
      scored.forEach((candidate, i) => (candidate.scores.mmi = scores[i]));
    },
  };
}

export default createMmiPlugin;
