/**
 * Streaming a one-candidate reply: tokens from the real engine (a fixture trained to say known
 * replies), shown sentence by sentence after each passed the plugins' checkPartial; the first
 * unsafe sentence cuts the stream and the fallback replaces it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { createLogger } from '../../core/log.js';
import { sentenceEnds } from '../../core/stream.js';
import type { IncomingMessage, Plugin, Reply, Turn } from '../../core/types.js';
import { makeTestBot, PLAIN_PRESETS } from '../helpers/bot.js';

export const SCRIPT_MODEL = resolve(import.meta.dirname, '../fixtures/tiny-gpt2-script');
const SCRIPT = Object.fromEntries((JSON.parse(readFileSync(resolve(SCRIPT_MODEL, 'expected.json'), 'utf8')) as { message: string; reply: string }[]).map((s) => [s.message, s.reply]));
/** The fixture's scripts repeat words and punctuation: no n-gram ban. */
const GREEDY = { strategy: 'greedy', numCandidates: 1, maxNewTokens: 48, minNewTokens: 1, noRepeatNgramSize: 0 } as const;

let conversation = 0;
const message = (text: string): IncomingMessage => ({ platform: 'test', channel: `stream-${++conversation}`, text, user: { id: 'alice' } });

/** Runs a message with a stream that records every update; returns them with the delivered reply. */
async function streamed(bot: Bot, text: string): Promise<{ updates: string[]; reply: Reply; delivered: Reply[] }> {
  const updates: string[] = [];
  const delivered: Reply[] = [];
  const reply = await bot.handle(message(text), async (r) => void delivered.push(r), { stream: { update: (shown) => void updates.push(shown) } });
  return { updates, reply, delivered };
}

/** Rejects any sentence with "idiot" in it, and records what it was asked. */
function noInsults(seen: { text: string; sentence: string }[]): Plugin {
  return {
    name: 'no-insults',
    checkPartial(partial) {
      seen.push(partial);
      return partial.sentence.includes('idiot') ? { reason: 'calls someone an idiot' } : undefined;
    },
  };
}

describe('sentence boundaries', () => {
  it('ends a sentence at terminal punctuation followed by white space, or at a line break', () => {
    expect(sentenceEnds('Hello there. You are')).toEqual(['Hello there.'.length]);
    expect(sentenceEnds('It is 8.849 km')).toEqual([]);
    expect(sentenceEnds('Really?! "Yes." And')).toEqual(['Really?!'.length, 'Really?! "Yes."'.length]);
    expect(sentenceEnds('Done.')).toEqual([]);
    expect(sentenceEnds('one\ntwo')).toEqual([4]);
  });
});

describe('streaming through the bot', () => {
  let bot: Bot;
  let turns: Turn[];
  const seen: { text: string; sentence: string }[] = [];
  beforeAll(async () => {
    bot = await makeTestBot({ engine: { model: SCRIPT_MODEL } as never, presets: PLAIN_PRESETS, decoding: GREEDY as never }, { plugins: [noInsults(seen)] });
    turns = [];
    bot.events.on('turn:end', ({ turn }) => turns.push(turn));
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('the fixture says its scripts', async () => {
    for (const [text, reply] of Object.entries(SCRIPT)) expect((await bot.handle(message(text))).text).toBe(reply);
  });

  it('shows complete sentences as they are written, each checked first, then delivers the whole reply', async () => {
    seen.length = 0;
    const { updates, reply, delivered } = await streamed(bot, 'tell me a story');
    expect(reply.text).toBe(SCRIPT['tell me a story']);
    expect(delivered).toEqual([reply]);
    expect(updates.length).toBeGreaterThan(0);
    let previous = '';
    for (const update of updates) {
      expect(reply.text.startsWith(update)).toBe(true);
      expect(update.length).toBeGreaterThan(previous.length);
      expect(update).toMatch(/[.!?]$/);
      // Shown only after a check that covered it.
      expect(seen.some((s) => s.text === update)).toBe(true);
      previous = update;
    }
    // Each sentence followed by more text was checked on its own, in order, and then shown; the last one comes with the whole reply.
    expect(seen.map((s) => s.sentence)).toEqual(['Once there was a fox.', 'The fox lived by the sea.', 'Every morning it sang to the waves.']);
    expect(updates).toEqual(['Once there was a fox.', 'Once there was a fox. The fox lived by the sea.', 'Once there was a fox. The fox lived by the sea. Every morning it sang to the waves.']);
    expect(turns.at(-1)!.trace.find((t) => t.stage === 'generate')?.note).toMatch(/streamed/);
  });

  it('cuts the stream at the first unsafe sentence: it is never shown, the candidate is rejected and the fallback replaces the reply', async () => {
    const { updates, reply, delivered } = await streamed(bot, 'say something rude');
    expect(updates).toEqual(['Hello there.']);
    expect(reply.kind).toBe('fallback');
    expect(reply.text).toBe(bot.config.selection.fallback);
    expect(delivered).toEqual([reply]);
    const turn = turns.at(-1)!;
    expect(turn.candidates).toHaveLength(1);
    expect(turn.candidates[0].rejected).toEqual({ by: 'no-insults', reason: 'calls someone an idiot' });
    expect(turn.candidates[0].text).toContain('You are an idiot.');
    expect(turn.trace.find((t) => t.stage === 'generate')?.note).toMatch(/streamed 1 sentence, then cut by no-insults: calls someone an idiot/);
  });

  it('does not stream when the turn has several candidates: selection needs them all', async () => {
    const updates: string[] = [];
    const reply = await bot.handle({ ...message('tell me a story') }, undefined, { stream: { update: (text) => void updates.push(text) } });
    expect(reply.kind).toBe('model');
    expect(updates.length).toBeGreaterThan(0);
    const several = await makeTestBot({ engine: { model: SCRIPT_MODEL } as never, presets: PLAIN_PRESETS, decoding: { ...GREEDY, strategy: 'sample', numCandidates: 3, seed: 1 } as never });
    try {
      const none: string[] = [];
      const answer = await several.handle(message('tell me a story'), undefined, { stream: { update: (text) => void none.push(text) } });
      expect(answer.kind).toBe('model');
      expect(none).toEqual([]);
    } finally {
      await several.stop();
    }
  });
});

describe('streaming failures', () => {
  it('a checkPartial that throws fails the turn with the apology, and is logged', async () => {
    const logged: string[] = [];
    const logger = createLogger('error', { name: 'test' });
    logger.error = ((...args: unknown[]) => void logged.push(JSON.stringify(args, (_k, v: unknown) => (v instanceof Error ? v.message : v)))) as typeof logger.error;
    const broken: Plugin = { name: 'broken', checkPartial: () => Promise.reject(new Error('checker crashed')) };
    const bot = await makeTestBot({ engine: { model: SCRIPT_MODEL } as never, presets: PLAIN_PRESETS, decoding: GREEDY as never }, { plugins: [broken], logger });
    try {
      const { updates, reply } = await streamed(bot, 'tell me a story');
      expect(updates).toEqual([]);
      expect(reply.kind).toBe('error');
      expect(logged.join('\n')).toMatch(/checker crashed.*turn failed/);
    } finally {
      await bot.stop();
    }
  });

  it('a stream display that throws is logged and left alone; the reply is still delivered whole', async () => {
    const logged: string[] = [];
    const logger = createLogger('error', { name: 'test' });
    logger.error = ((...args: unknown[]) => void logged.push(JSON.stringify(args, (_k, v: unknown) => (v instanceof Error ? v.message : v)))) as typeof logger.error;
    const bot = await makeTestBot({ engine: { model: SCRIPT_MODEL } as never, presets: PLAIN_PRESETS, decoding: GREEDY as never }, { logger });
    try {
      let calls = 0;
      const delivered: Reply[] = [];
      const reply = await bot.handle(message('tell me a story'), async (r) => void delivered.push(r), {
        stream: {
          update: () => {
            calls++;
            throw new Error('display gone');
          },
        },
      });
      expect(calls).toBe(1);
      expect(reply.text).toBe(SCRIPT['tell me a story']);
      expect(delivered).toEqual([reply]);
      expect(logged.join('\n')).toMatch(/display gone.*reply stream failed/);
    } finally {
      await bot.stop();
    }
  });
});
