/**
 * The turn pipeline of DESIGN.md: inspect -> prompt -> generate -> score -> filter -> select -> finalize.
 * Plugins run in config order within each stage; every step is timed into the turn's trace and
 * each stage is announced on the event bus, so observers see the pipeline without being part of it.
 */
import { performance } from 'node:perf_hooks';
import type { EventBus } from './events.js';
import type { DialogueEngine, GeneratedCandidate } from './engine/types.js';
import { PluginError } from './errors.js';
import type { Logger } from './log.js';
import { scoreMatches, selectCandidate } from './selection.js';
import { SentenceStream, streamable } from './stream.js';
import type { BotEvents, Plugin, Reply, ReplyStream, Stage, Turn } from './types.js';

type PluginStage = Exclude<Stage, 'generate' | 'select'>;

export interface PipelineContext {
  plugins: readonly Plugin[];
  engine: DialogueEngine;
  events: EventBus<BotEvents>;
  /** Selection weights and fallback text, already merged with the preset's. */
  weights: Record<string, number>;
  fallback: string;
  /** Where a one-candidate reply is shown while it is written (see core/stream.ts). */
  stream?: ReplyStream;
  logger?: Logger;
  /** Aborts the turn (its deadline passed): generation stops, and the pipeline ends at the next stage with the signal's reason. */
  signal?: AbortSignal;
}

export interface PipelineResult {
  /** Whether some of the reply was shown while it was written. */
  streamed: boolean;
}

/** Runs a turn to its reply. An early reply from inspect (a refusal, an answer) ends the turn there. */
export async function runPipeline(turn: Turn, ctx: PipelineContext): Promise<PipelineResult> {
  let streamed = false;
  await runPluginStage(turn, ctx, 'inspect');
  if (turn.reply) return { streamed };

  await runPluginStage(turn, ctx, 'prompt', () => {
    const { tokens, kept } = ctx.engine.encodeDialogue(turn.prompt, turn.decoding.maxNewTokens);
    turn.promptTokens = tokens;
    turn.promptText = ctx.engine.tokenizer.decode(tokens, { keepSpecial: true });
    turn.prompt = kept;
    return `${tokens.length} prompt tokens`;
  });

  await runCoreStage(turn, ctx, 'generate', async () => {
    let generated: GeneratedCandidate[];
    let streamNote = '';
    let cut: { by: string; reason: string } | undefined;
    if (ctx.stream && streamable(turn.decoding)) {
      const outcome = await new SentenceStream(turn, ctx.engine, ctx.plugins, ctx.stream, ctx.logger, ctx.signal).run();
      generated = [outcome.candidate];
      cut = outcome.rejected;
      streamed = outcome.shownSentences > 0;
      const shown = outcome.shownSentences;
      streamNote = `; streamed ${shown} sentence${shown === 1 ? '' : 's'}${cut ? `, then cut by ${cut.by}: ${cut.reason}` : ''}`;
    } else {
      generated = await ctx.engine.generate(turn.promptTokens, turn.decoding, { signal: ctx.signal });
    }
    turn.candidates = generated.map((g) => ({
      text: g.text,
      tokens: g.tokens,
      logprob: g.logprob,
      avgLogprob: g.avgLogprob,
      scores: { logprob: g.logprob, avgLogprob: g.avgLogprob },
    }));
    // An empty candidate says nothing; it can never be the reply.
    for (const candidate of turn.candidates) {
      if (!candidate.text.trim()) candidate.rejected = { by: 'core', reason: 'empty reply' };
    }
    if (cut) turn.candidates[0].rejected = cut;
    return `${turn.candidates.length} candidates${streamNote}`;
  });

  await runPluginStage(turn, ctx, 'score');
  await runPluginStage(turn, ctx, 'filter');
  ctx.events.emit('candidates', { turn });

  await runCoreStage(turn, ctx, 'select', () => {
    turn.chosen = selectCandidate(turn.candidates, ctx.weights);
    turn.reply =
      turn.chosen === -1
        ? { text: ctx.fallback, kind: 'fallback', citations: [] }
        : { text: turn.candidates[turn.chosen].text, kind: 'model', citations: [] };
    return turn.chosen === -1 ? 'no candidate survived: fallback' : `candidate ${turn.chosen}`;
  });

  await runPluginStage(turn, ctx, 'finalize');
  return { streamed };
}

async function runPluginStage(turn: Turn, ctx: PipelineContext, stage: PluginStage, after?: () => string): Promise<void> {
  for (const plugin of ctx.plugins) {
    const hook = plugin[stage] as ((turn: Turn) => unknown) | undefined;
    if (!hook) continue;
    const started = performance.now();
    let note: string | undefined;
    try {
      const answer = await hook.call(plugin, turn);
      if (stage === 'inspect' && answer) turn.reply = answer as Reply;
    } catch (cause) {
      const error = new PluginError(plugin.name, stage, cause);
      if (stage !== 'score' || !plugin.optionalScores) throw error;
      // An optional scorer's failure costs its scores, not the turn.
      dropScores(turn, plugin);
      ctx.events.emit('plugin:error', { turn, error });
      note = `failed: ${error.message}`;
    }
    turn.trace.push({ stage, by: plugin.name, ms: performance.now() - started, ...(note ? { note } : {}) });
    // An inspect hook that answered ends the stage: later plugins must not override a refusal.
    if (stage === 'inspect' && turn.reply) break;
  }
  if (after) {
    const started = performance.now();
    const note = after();
    turn.trace.push({ stage, by: 'core', ms: performance.now() - started, note });
  }
  ctx.events.emit('stage', { turn, stage });
  ctx.signal?.throwIfAborted();
}

async function runCoreStage(turn: Turn, ctx: PipelineContext, stage: Stage, work: () => Promise<string> | string): Promise<void> {
  const started = performance.now();
  const note = await work();
  turn.trace.push({ stage, by: 'core', ms: performance.now() - started, note });
  ctx.events.emit('stage', { turn, stage });
  ctx.signal?.throwIfAborted();
}

/** Removes the scores `plugin` declares from every candidate (a half-scored turn must not be compared). */
function dropScores(turn: Turn, plugin: Plugin): void {
  const patterns = Object.keys(plugin.scores ?? {});
  for (const candidate of turn.candidates) {
    for (const name of Object.keys(candidate.scores)) if (patterns.some((pattern) => scoreMatches(pattern, name))) delete candidate.scores[name];
  }
}
