import { afterEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { IncomingMessage, Plugin, Stage, Turn } from '../../core/types.js';
import { createLogger } from '../../core/log.js';
import { makeTestBot } from '../helpers/bot.js';
import { FaultyStore } from '../helpers/faulty-store.js';

const bots: Bot[] = [];
async function bot(...args: Parameters<typeof makeTestBot>): Promise<Bot> {
  const made = await makeTestBot(...args);
  bots.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.stop()));
});

const message = (text: string, channel = 'c1', extra: Partial<IncomingMessage> = {}): IncomingMessage => ({
  platform: 'test',
  channel,
  text,
  user: { id: 'u1', name: 'tester' },
  ...extra,
});

/** A plugin that records every hook it sees. */
function recorder(log: string[], name = 'recorder'): Plugin {
  const hook = (stage: string) => (turn: Turn) => {
    log.push(`${name}.${stage}`);
    if (stage === 'score') turn.candidates.forEach((c, i) => (c.scores[`${name}.index`] = i));
  };
  return {
    name,
    inspect: hook('inspect'),
    prompt: hook('prompt'),
    score: hook('score'),
    filter: hook('filter'),
    finalize: hook('finalize'),
  };
}

describe('pipeline', () => {
  it('runs the stages in order, plugins in order, and emits an event per stage', async () => {
    const log: string[] = [];
    const b = await bot({ decoding: { numCandidates: 3, seed: 1 } as never }, { plugins: [recorder(log, 'one'), recorder(log, 'two')] });
    const events: string[] = [];
    b.events.on('turn:start', () => events.push('turn:start'));
    b.events.on('stage', ({ stage }) => events.push(stage));
    b.events.on('candidates', ({ turn }) => events.push(`candidates:${turn.candidates.length}`));
    b.events.on('reply', () => events.push('reply'));
    b.events.on('turn:end', () => events.push('turn:end'));
    let traced: Turn | undefined;
    b.events.on('turn:end', ({ turn }) => (traced = turn));

    const reply = await b.handle(message('hello there'));

    expect(log).toEqual(['inspect', 'prompt', 'score', 'filter', 'finalize'].flatMap((s) => [`one.${s}`, `two.${s}`]));
    expect(events).toEqual(['turn:start', 'inspect', 'prompt', 'generate', 'score', 'filter', 'candidates:3', 'select', 'finalize', 'reply', 'turn:end']);
    const stagesTraced = new Set(traced!.trace.map((t) => t.stage));
    expect([...stagesTraced]).toEqual<Stage[]>(['inspect', 'prompt', 'generate', 'score', 'filter', 'select', 'finalize']);
    expect(traced!.promptTokens.length).toBeGreaterThan(0);
    expect(traced!.candidates.every((c) => typeof c.scores.avgLogprob === 'number')).toBe(true);
    expect(['model', 'fallback']).toContain(reply.kind);
  });

  it('selects by the configured weights of named scores', async () => {
    const scorer: Plugin = {
      name: 'scorer',
      score: (turn) => turn.candidates.forEach((c, i) => (c.scores.pick = i === 2 ? 1 : 0)),
    };
    const b = await bot({ decoding: { numCandidates: 4, seed: 3, minNewTokens: 2 } as never, selection: { weights: { pick: 100, avgLogprob: 1 } } }, { plugins: [scorer] });
    let chosen = -1;
    let texts: string[] = [];
    b.events.on('turn:end', ({ turn }) => {
      chosen = turn.chosen;
      texts = turn.candidates.map((c) => c.text);
    });
    const reply = await b.handle(message('pick one'));
    expect(chosen).toBe(2);
    expect(reply.text).toBe(texts[2]);
  });

  it('answers with the fallback when every candidate is rejected', async () => {
    const rejectAll: Plugin = { name: 'reject-all', filter: (turn) => turn.candidates.forEach((c) => (c.rejected = { by: 'reject-all', reason: 'test' })) };
    const b = await bot({ selection: { fallback: 'I would rather not say.' } }, { plugins: [rejectAll] });
    const reply = await b.handle(message('anything'));
    expect(reply).toMatchObject({ text: 'I would rather not say.', kind: 'fallback', citations: [] });
  });

  it('skips generation when inspect answers', async () => {
    const stages: string[] = [];
    const refuse: Plugin = { name: 'refuse', inspect: (turn) => void (turn.reply = { text: 'No.', kind: 'refusal', citations: [] }) };
    const b = await bot({}, { plugins: [refuse, recorder([], 'after')] });
    b.events.on('stage', ({ stage }) => stages.push(stage));
    const reply = await b.handle(message('do something bad'));
    expect(reply.text).toBe('No.');
    expect(stages).toEqual(['inspect']);
  });

  it('answers a failing plugin with an apology, writes no history, and keeps the channel working', async () => {
    let fail = true;
    const flaky: Plugin = {
      name: 'flaky',
      score: () => {
        if (fail) throw new Error('plugin exploded');
      },
    };
    const b = await bot({}, { plugins: [flaky] });
    const errors: unknown[] = [];
    b.events.on('turn:error', ({ error }) => errors.push(error));
    const first = await b.handle(message('first'));
    expect(first.kind).toBe('error');
    expect(first.text).not.toContain('exploded');
    expect(errors).toHaveLength(1);
    expect((await b.conversation({ platform: 'test', channel: 'c1' })).history).toEqual([]);
    fail = false;
    const second = await b.handle(message('second'));
    expect(second.kind).not.toBe('error');
    expect((await b.conversation({ platform: 'test', channel: 'c1' })).history.map((t) => t.text)[0]).toBe('second');
  });
});

describe('history and delivery', () => {
  it('saves the turn before delivering it, and takes it back out when the delivery fails', async () => {
    const b = await bot();
    const address = { platform: 'test', channel: 'c1' };
    await expect(b.handle(message('lost'), async () => Promise.reject(new Error('network down')))).rejects.toThrow('network down');
    expect((await b.conversation(address)).history).toEqual([]);
    let seenDuringDelivery: string[] = [];
    await b.handle(message('kept'), async () => {
      seenDuringDelivery = (await b.conversation(address)).history.map((t) => t.role);
    });
    // Already durable while the user reads it: a crash now cannot lose a reply the user saw.
    expect(seenDuringDelivery).toEqual(['user', 'bot']);
    expect((await b.conversation(address)).history.map((t) => t.role)).toEqual(['user', 'bot']);
  });

  it('a save that fails leaves the delivered reply as it is, is retried, and is logged when every retry fails', async () => {
    const store = await FaultyStore.open();
    const logged: string[] = [];
    const logger = createLogger('warn', { name: 'test' });
    logger.warn = ((...args: unknown[]) => void logged.push(`warn ${JSON.stringify(args)}`)) as typeof logger.warn;
    logger.error = ((...args: unknown[]) => void logged.push(`error ${JSON.stringify(args)}`)) as typeof logger.error;
    const b = await bot({}, { history: store, logger, saveRetryDelaysMs: [1, 1] });
    const address = { platform: 'test', channel: 'c1' };

    // The first save (before delivery) fails, the retry after it succeeds.
    store.failSaves = 1;
    const delivered: string[] = [];
    const reply = await b.handle(message('first'), async (r) => void delivered.push(r.text));
    expect(delivered).toEqual([reply.text]);
    expect(reply.kind).toBe('model');
    expect((await b.conversation(address)).history.map((t) => t.text)).toEqual(['first', reply.text]);

    // Every save fails: the reply still stands and the turn resolves; the loss is logged once, as an error.
    store.failSaves = Infinity;
    const attemptsBefore = store.saveAttempts;
    const second = await b.handle(message('second'), async (r) => void delivered.push(r.text));
    expect(delivered).toEqual([reply.text, second.text]);
    expect(second.kind).toBe('model');
    // One save before the delivery, then one after it and a retry per configured pause.
    expect(store.saveAttempts - attemptsBefore).toBe(4);
    expect(logged.filter((line) => line.startsWith('error') && line.includes('could not save a delivered turn'))).toHaveLength(1);
    store.failSaves = 0;
    expect((await b.conversation(address)).history.map((t) => t.text)).toEqual(['first', reply.text]);
  });

  it('a store that cannot be read answers with the apology, never the store error', async () => {
    const store = await FaultyStore.open();
    const b = await bot({}, { history: store });
    store.failLoads = 1;
    const delivered: string[] = [];
    const reply = await b.handle(message('hello'), async (r) => void delivered.push(r.text));
    expect(reply.kind).toBe('error');
    expect(delivered).toEqual([reply.text]);
    expect(reply.text).not.toContain('EISDIR');
    expect((await b.handle(message('again'))).kind).toBe('model');
  });

  it('bounds the stored history by turns', async () => {
    const b = await bot({ history: { maxTurns: 4 } });
    for (const text of ['one', 'two', 'three']) await b.handle(message(text));
    const history = (await b.conversation({ platform: 'test', channel: 'c1' })).history;
    expect(history).toHaveLength(4);
    expect(history.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['two', 'three']);
  });

  it('keeps 50 concurrent conversations apart, serial within each', async () => {
    const inFlight = new Map<string, number>();
    let overlapInChannel = false;
    let maxChannelsAtOnce = 0;
    const watch: Plugin = {
      name: 'watch',
      async prompt(turn) {
        const key = turn.conversation.key;
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        if (inFlight.get(key)! > 1) overlapInChannel = true;
        maxChannelsAtOnce = Math.max(maxChannelsAtOnce, [...inFlight.values()].filter((n) => n > 0).length);
        await new Promise((r) => setTimeout(r, 2));
      },
      finalize(turn) {
        inFlight.set(turn.conversation.key, inFlight.get(turn.conversation.key)! - 1);
      },
    };
    // One user writes in all 50 channels: the per-user admission cap is off here.
    const b = await bot({ decoding: { numCandidates: 2, maxNewTokens: 4 } as never, engine: { maxConcurrentGenerations: 2 }, admission: { maxPerUser: 0 } as never }, { plugins: [watch] });
    const channels = Array.from({ length: 50 }, (_, i) => `chan-${i}`);
    await Promise.all(channels.flatMap((channel) => [1, 2].map((n) => b.handle(message(`${channel} says ${n}`, channel)))));
    expect(overlapInChannel).toBe(false);
    expect(maxChannelsAtOnce).toBeGreaterThan(1);
    for (const channel of channels) {
      const history = (await b.conversation({ platform: 'test', channel })).history;
      expect(history.filter((t) => t.role === 'user').map((t) => t.text)).toEqual([`${channel} says 1`, `${channel} says 2`]);
    }
  });
});

describe('bad input', () => {
  it('answers empty, invisible-only and oversized messages politely without generating', async () => {
    const b = await bot();
    const stages: string[] = [];
    b.events.on('stage', ({ stage }) => stages.push(stage));
    expect((await b.handle(message(''))).kind).toBe('refusal');
    expect((await b.handle(message('\u200B\u0000\u0007  '))).kind).toBe('refusal');
    const huge = await b.handle(message('a'.repeat(1024 * 1024)));
    expect(huge.kind).toBe('refusal');
    expect(huge.text).toMatch(/too long/);
    expect(stages).toEqual([]);
    expect((await b.conversation({ platform: 'test', channel: 'c1' })).history).toEqual([]);
  });

  it('strips control and zero-width characters and survives invalid UTF-16 and binary junk', async () => {
    const b = await bot();
    const seen: string[] = [];
    b.events.on('turn:start', ({ turn }) => seen.push(turn.message.text));
    const junk = String.fromCharCode(...Array.from({ length: 300 }, (_, i) => (i * 7919) % 65536));
    for (const text of ['hel\u0000lo\u200B', 'broken \uDC00 surrogate \uD83D', junk]) {
      const reply = await b.handle(message(text));
      expect(['model', 'fallback', 'refusal']).toContain(reply.kind);
    }
    expect(seen[0]).toBe('hello');
    expect(seen[1]).toBe('broken \uFFFD surrogate \uFFFD');
    expect(seen.every((t) => t.isWellFormed())).toBe(true);
  });
});

describe('commands', () => {
  it('runs /reset, gates admin commands, and reports unknown ones', async () => {
    const b = await bot();
    await b.handle(message('remember me'));
    expect((await b.handle(message('/reset'))).kind).toBe('command');
    expect((await b.conversation({ platform: 'test', channel: 'c1' })).history).toEqual([]);
    expect((await b.handle(message('/preset default'))).text).toMatch(/only admins/i);
    const admin = { user: { id: 'a', isAdmin: true } };
    expect((await b.handle(message('/preset nope', 'c1', admin))).text).toMatch(/No preset named "nope"/);
    expect((await b.handle(message('/persona I am a pirate. I love the sea.', 'c1', admin))).text).toMatch(/2 line/);
    expect((await b.conversation({ platform: 'test', channel: 'c1' })).persona).toEqual(['I am a pirate.', 'I love the sea.']);
    expect((await b.handle(message('/frobnicate'))).text).toMatch(/Unknown command/);
    expect((await b.handle(message('/help'))).text).toMatch(/\/reset/);
  });
});
