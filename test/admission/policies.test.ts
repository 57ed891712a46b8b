/**
 * Admission policies through a real bot on the fixture model: the per-turn deadline (apology,
 * aborted generation, nothing late sent or stored), debounce bursts, and per-preset overrides.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { MemoryAdmissionState } from '../../core/admission/index.js';
import { validatePresetFile } from '../../core/config/schema.js';
import { DecodeAbortedError } from '../../core/engine/scheduler.js';
import { createLogger } from '../../core/log.js';
import type { BotEvents, IncomingMessage, Plugin, Reply, Turn } from '../../core/types.js';
import { makeTestBot, type ConfigOverrides } from '../helpers/bot.js';
import { SCRIPTED } from '../web/support.js';

const PRESETS = resolve(import.meta.dirname, 'fixtures/presets');
const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.stop()));
});

const message = (text: string, channel = 'c1', user = 'u1'): IncomingMessage => ({ platform: 'test', channel, text, user: { id: user, isAdmin: true } });

async function bot(admission: Record<string, unknown>, overrides: ConfigOverrides = {}, plugins: Plugin[] = []): Promise<{ bot: Bot; state: MemoryAdmissionState }> {
  const state = new MemoryAdmissionState();
  const b = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 }, ...overrides, admission } as never, { logger: createLogger('silent'), admissionState: state, plugins });
  bots.push(b);
  return { bot: b, state };
}

function collector(): { delivered: Reply[]; deliver: (reply: Reply) => Promise<void> } {
  const delivered: Reply[] = [];
  return { delivered, deliver: async (reply) => void delivered.push(reply) };
}

function nextEvent<K extends keyof BotEvents>(b: Bot, name: K): Promise<BotEvents[K]> {
  return new Promise((resolve) => {
    const off = b.events.on(name, (event) => {
      off();
      resolve(event);
    });
  });
}

async function idle(b: Bot): Promise<void> {
  while (b.backlog.conversations + b.backlog.admitting + b.backlog.bursts > 0) await new Promise((r) => setTimeout(r, 5));
}

describe('the per-turn deadline', () => {
  test('a turn whose generation is still waiting gets the apology; its generation is aborted through the signal and nothing is stored', async () => {
    const { bot: b, state } = await bot({ turnDeadlineMs: 1000, deadlineText: 'Too slow, sorry.' });
    // Generation is held back until the deadline has passed; then it goes to the real engine.
    const real = b.engine.generate;
    const calls: { signal?: AbortSignal; result: Promise<unknown> }[] = [];
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    b.engine.generate = (prompt, options, control) => {
      const result = gate.then(() => real(prompt, options, control));
      calls.push({ signal: control?.signal, result: result.catch((error: unknown) => error) });
      return result;
    };
    const { delivered, deliver } = collector();
    const missed = nextEvent(b, 'admission:deadline');
    const reply = await b.handle(message('are you there?'), deliver);
    expect(reply).toMatchObject({ kind: 'deadline', text: 'Too slow, sorry.' });
    expect((await missed).message.text).toBe('are you there?');
    // On a machine so loaded that the prompt stage outlasted the deadline, the turn stopped before generating at all.
    expect(calls.length).toBeLessThanOrEqual(1);
    open();
    for (const call of calls) {
      expect(call.signal?.aborted).toBe(true);
      expect(await call.result).toBeInstanceOf(DecodeAbortedError);
    }
    await idle(b);
    expect(delivered).toEqual([reply]);
    expect((await b.conversation(message(''))).history).toEqual([]);
    expect(state.size).toBe(0);
    b.engine.generate = real;
    const next = await b.handle(message('now?'), deliver);
    expect(next.kind).toBe('model');
    expect((await b.conversation(message(''))).history.map((t) => t.text)).toEqual(['now?', next.text]);
  });

  test('a result that is finished only after the deadline is never sent nor stored', async () => {
    let passed: Promise<unknown> = Promise.resolve();
    const slowFinish: Plugin = { name: 'slow-finish', finalize: () => passed.then(() => undefined) };
    const { bot: b } = await bot({ turnDeadlineMs: 150 }, {}, [slowFinish]);
    passed = nextEvent(b, 'admission:deadline');
    const ended: Turn[] = [];
    b.events.on('reply', ({ turn }) => void ended.push(turn));
    const { delivered, deliver } = collector();
    const reply = await b.handle(message('hello'), deliver);
    expect(reply.kind).toBe('deadline');
    await idle(b);
    expect(delivered.map((r) => r.kind)).toEqual(['deadline']);
    expect(ended).toEqual([]);
    expect((await b.conversation(message(''))).history).toEqual([]);
  });

  test('a streamed turn shows nothing more once its deadline passed', async () => {
    let passed: Promise<unknown> = Promise.resolve();
    const slowCheck: Plugin = { name: 'slow-check', checkPartial: () => passed.then(() => undefined) };
    const { bot: b } = await bot({ turnDeadlineMs: 150 }, SCRIPTED, [slowCheck]);
    passed = nextEvent(b, 'admission:deadline');
    const shown: string[] = [];
    const { delivered, deliver } = collector();
    const reply = await b.handle(message('tell me about the mountain'), deliver, { stream: { update: (text) => void shown.push(text) } });
    expect(reply.kind).toBe('deadline');
    await idle(b);
    expect(shown).toEqual([]);
    expect(delivered).toEqual([reply]);
    expect((await b.conversation(message(''))).history).toEqual([]);
  });

  test('0 turns the deadline off', async () => {
    const { bot: b } = await bot({ turnDeadlineMs: 0 });
    expect((await b.handle(message('hi'))).kind).toBe('model');
  });
});

describe('the debounce policy', () => {
  test('a full burst is one turn: answered once through its first message, stored as the messages were sent', async () => {
    // maxMessages closes the burst at once, so the long window never has to pass.
    const { bot: b, state } = await bot({ policy: 'debounce', debounce: { windowMs: 60_000, maxMessages: 3 } });
    const prompts: string[][] = [];
    b.events.on('turn:start', ({ turn }) => void prompts.push(turn.prompt.history.filter((t) => t.role === 'user').map((t) => t.text)));
    const sinks = [collector(), collector(), collector()];
    const replies = await Promise.all(['hi', 'quick question', 'what is a mountain?'].map((text, i) => b.handle(message(text), sinks[i].deliver)));
    expect(replies.map((r) => r.kind)).toEqual(['model', 'merged', 'merged']);
    expect(sinks.map((s) => s.delivered)).toEqual([[replies[0]], [], []]);
    expect(prompts).toEqual([['hi', 'quick question', 'what is a mountain?']]);
    const history = (await b.conversation(message(''))).history;
    expect(history.map((t) => [t.role, t.text])).toEqual([['user', 'hi'], ['user', 'quick question'], ['user', 'what is a mountain?'], ['bot', replies[0].text]]);
    await idle(b);
    expect(state.size).toBe(0);
  });

  test('bursts are per user; a command is never merged and does not overtake the burst before it', async () => {
    const { bot: b } = await bot({ policy: 'debounce', debounce: { windowMs: 50, maxMessages: 5 } });
    const order: string[] = [];
    const deliver = (label: string) => async (reply: Reply) => void order.push(`${label}:${reply.kind}`);
    const replies = await Promise.all([
      b.handle(message('one', 'c1', 'ann'), deliver('ann one')),
      b.handle(message('two', 'c1', 'bob'), deliver('bob two')),
      b.handle(message('three', 'c1', 'ann'), deliver('ann three')),
      b.handle(message('/help', 'c1', 'ann'), deliver('ann help')),
    ]);
    expect(replies.map((r) => r.kind)).toEqual(['model', 'model', 'merged', 'command']);
    expect(order).toEqual(['ann one:model', 'bob two:model', 'ann help:command']);
    const users = (await b.conversation(message(''))).history.filter((t) => t.role === 'user').map((t) => t.text);
    expect(users).toEqual(['one', 'three', 'two']);
  });
});

describe('per-preset admission', () => {
  const presets = { dirs: [PRESETS], default: 'default', routes: { 'test:strict': 'strict' } };

  test("a preset's caps and texts apply to its conversations, by route or by /preset; others keep the bot's", async () => {
    const { bot: b } = await bot({}, { presets });
    const texts = (channel: string) => Promise.all(['a', 'b', 'c'].map((text) => b.handle(message(text, channel))));
    const strict = await texts('strict');
    expect(strict.map((r) => r.kind)).toEqual(['model', 'busy', 'busy']);
    expect(strict[1].text).toBe('Strict is busy, one message at a time please.');
    expect((await texts('c1')).map((r) => r.kind)).toEqual(['model', 'model', 'model']);
    expect((await b.handle(message('/preset strict', 'c2'))).kind).toBe('command');
    expect((await texts('c2')).map((r) => r.kind)).toEqual(['model', 'busy', 'busy']);
  });

  test('the preset schema checks admission overrides', () => {
    expect(validatePresetFile({ persona: [], admission: { maxPerUser: 2, debounce: { windowMs: 500 } } }, 'ok.yaml')).toEqual([]);
    const problems = validatePresetFile({ admission: { policy: 'shout', maxTotal: -1 } }, 'bad.yaml').map((p) => p.message);
    expect(problems.join('\n')).toMatch(/policy/);
    expect(problems.join('\n')).toMatch(/maxTotal/);
  });
});
