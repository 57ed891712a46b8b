/** What the inspector shows of a turn: a JSON-safe copy of the parts that explain the reply. */
import type { Citation, Evidence, HistoryTurn, ReplyKind, TraceEntry, Turn } from '../../core/index.js';
import type { DecodeOptions } from '../../core/index.js';
import type { CandidateRecord } from '../../core/index.js';

/** A candidate as the inspector shows it: the same record the feedback store keeps. */
export type CandidateTrace = CandidateRecord;

export interface TurnTrace {
  turnId: string;
  preset: string;
  message: string;
  decoding: DecodeOptions;
  /** The prompt parts as the model saw them (history already truncated to fit). */
  prompt: { persona: string[]; knowledge: string[]; history: Pick<HistoryTurn, 'role' | 'text'>[] };
  promptTokenCount: number;
  evidence: Pick<Evidence, 'title' | 'url' | 'text' | 'score'>[];
  candidates: CandidateTrace[];
  /** Index into `candidates` of the reply, or -1 (fallback, refusal, command). */
  chosen: number;
  reply?: { text: string; kind: ReplyKind; citations: Citation[] };
  timings: TraceEntry[];
  /** Whole turn, when it ended. */
  ms?: number;
  error?: string;
}

export function toTurnTrace(turn: Turn, end: { ms?: number; error?: unknown } = {}): TurnTrace {
  return {
    turnId: turn.id,
    preset: turn.preset.name,
    message: turn.message.text,
    decoding: { ...turn.decoding },
    prompt: {
      persona: [...turn.prompt.persona],
      knowledge: [...turn.prompt.knowledge],
      history: turn.prompt.history.map(({ role, text }) => ({ role, text })),
    },
    promptTokenCount: turn.promptTokens.length,
    evidence: turn.evidence.map(({ title, url, text, score }) => ({ title, url, text, score })),
    candidates: turn.candidates.map((candidate) => ({
      text: candidate.text,
      tokenCount: candidate.tokens.length,
      logprob: candidate.logprob,
      avgLogprob: candidate.avgLogprob,
      scores: { ...candidate.scores },
      total: candidate.total,
      rejected: candidate.rejected ? { ...candidate.rejected } : undefined,
    })),
    chosen: turn.chosen,
    reply: turn.reply ? { text: turn.reply.text, kind: turn.reply.kind, citations: turn.reply.citations.map((c) => ({ ...c })) } : undefined,
    timings: turn.trace.map((entry) => ({ ...entry })),
    ms: end.ms,
    error: end.error === undefined ? undefined : describeError(end.error),
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
