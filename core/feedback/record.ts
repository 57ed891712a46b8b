/** A turn's trace as the feedback store keeps it: plain JSON, nothing a later turn can change. */
import type { ModelInfo } from '../engine/types.js';
import type { Turn } from '../types.js';
import type { TurnRecord } from './types.js';

export function turnRecord(turn: Turn, context: { weights: Record<string, number>; model: ModelInfo; streamed: boolean; at?: number }): TurnRecord {
  const reply = turn.reply!;
  return structuredClone({
    turnId: turn.id,
    at: context.at ?? Date.now(),
    conversation: turn.conversation.key,
    platform: turn.message.platform,
    preset: turn.preset.name,
    model: { name: context.model.name, type: context.model.modelType, dtype: context.model.dtype },
    decoding: turn.decoding,
    weights: context.weights,
    message: turn.message.text,
    prompt: {
      persona: turn.prompt.persona,
      knowledge: turn.prompt.knowledge,
      history: turn.prompt.history.map(({ role, text }) => ({ role, text })),
    },
    promptText: turn.promptText,
    evidence: turn.evidence.map(({ title, url, score }) => ({ title, url, score })),
    candidates: turn.candidates.map((candidate) => ({
      text: candidate.text,
      tokenCount: candidate.tokens.length,
      logprob: candidate.logprob,
      avgLogprob: candidate.avgLogprob,
      scores: candidate.scores,
      ...(candidate.total !== undefined ? { total: candidate.total } : {}),
      ...(candidate.rejected ? { rejected: candidate.rejected } : {}),
    })),
    chosen: turn.chosen,
    reply: { text: reply.text, kind: reply.kind },
    streamed: context.streamed,
    trace: turn.trace,
  });
}
