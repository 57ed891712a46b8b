/**
 * The adapter kit (core/adapter-kit, exported by `banter`) and the two core signals adapters build
 * on: `deliver(reply, { turn })` and `HandleOptions.onAccepted` (a message accepted and waiting).
 * The bot is real (the fixture model); a plugin holds a turn at its prompt stage so that a second
 * message of the same conversation is seen waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  InFlight,
  isConfiguredAdmin,
  passesFilter,
  splitMessage,
  TypingIndicators,
  type Bot,
  type Delivery,
  type Plugin,
  type Reply,
} from '../../core/index.js';
import { makeTestBot } from '../helpers/bot.js';
import { gate } from './gate.js';

let bot: Bot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const from = (text: string, channel = 'c') => ({ platform: 'kit', channel, user: { id: 'u' }, text });

describe('core signals for adapters', () => {
  it('deliver gets the turn with its reply; replies made without a turn get none', async () => {
    bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } });
    const deliveries: { reply: Reply; delivery: Delivery }[] = [];
    const deliver = async (reply: Reply, delivery: Delivery) => void deliveries.push({ reply, delivery });
    await bot.handle(from('Hello there'), deliver);
    await bot.handle(from('/help'), deliver);
    const [model, command] = deliveries;
    expect(model.delivery.turn?.id).toBe(model.reply.turnId);
    expect(model.delivery.turn?.message.text).toBe('Hello there');
    expect(model.delivery.turn?.candidates).toHaveLength(2);
    expect(model.delivery.ms).toBeGreaterThanOrEqual(0);
    expect(model.delivery.error).toBeUndefined();
    expect(command.reply.kind).toBe('command');
    expect(command.delivery).toEqual({});
  });

  it('deliver gets the error of a failed turn with the apology', async () => {
    const broken: Plugin = {
      name: 'broken',
      score() {
        throw new Error('scorer exploded');
      },
    };
    bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } }, { plugins: [broken] });
    let delivery: Delivery | undefined;
    const reply = await bot.handle(from('Hello'), async (_reply, given) => void (delivery = given));
    expect(reply.kind).toBe('error');
    expect(delivery?.turn?.id).toBe(reply.turnId);
    expect(String(delivery?.error)).toContain('scorer exploded');
  });

  it('onAccepted fires when a message is accepted, while it still waits behind its conversation’s turn', async () => {
    const held = gate();
    bot = await makeTestBot({ decoding: { numCandidates: 1, maxNewTokens: 4 } }, { plugins: [held.plugin] });
    const started: string[] = [];
    bot.events.on('turn:start', ({ turn }) => started.push(turn.message.text));
    const first = bot.handle(from('hold'));
    await held.reached;
    let secondAccepted!: () => void;
    const accepted = new Promise<void>((resolve) => (secondAccepted = resolve));
    const second = bot.handle(from('next'), undefined, { onAccepted: secondAccepted });
    await accepted;
    // Accepted and waiting: its turn has not started, the first one is still held.
    expect(started).toEqual(['hold']);
    held.open();
    await Promise.all([first, second]);
    expect(started).toEqual(['hold', 'next']);
  });

  it('onAccepted is not called for a message admission refuses', async () => {
    const held = gate();
    bot = await makeTestBot({ admission: { maxPerConversation: 1 }, decoding: { numCandidates: 1, maxNewTokens: 4 } }, { plugins: [held.plugin] });
    const first = bot.handle(from('hold'));
    await held.reached;
    let called = false;
    const refused = await bot.handle(from('too many'), undefined, { onAccepted: () => (called = true) });
    expect(refused.kind).toBe('busy');
    expect(called).toBe(false);
    held.open();
    await first;
  });
});

describe('adapter kit', () => {
  it('filters: an empty allow-list allows all, deny wins, a thread passes by itself or its parent', () => {
    expect(passesFilter({ allow: [], deny: [] }, ['c1'])).toBe(true);
    expect(passesFilter({ allow: ['c1'], deny: [] }, ['c2'])).toBe(false);
    expect(passesFilter({ allow: ['parent'], deny: [] }, ['thread', 'parent'])).toBe(true);
    expect(passesFilter({ allow: ['parent'], deny: ['thread'] }, ['thread', 'parent'])).toBe(false);
    expect(passesFilter({ allow: [], deny: [] }, [null])).toBe(true);
    expect(passesFilter({ allow: ['x'], deny: [] }, [null, undefined])).toBe(false);
  });

  it('admins: by user id, or by a role id or name', () => {
    const config = { adminUsers: ['boss'], adminRoles: ['111', 'Moderators'] };
    expect(isConfiguredAdmin(config, { id: 'boss' })).toBe(true);
    expect(isConfiguredAdmin(config, { id: 'u', roles: [{ id: '111' }] })).toBe(true);
    expect(isConfiguredAdmin(config, { id: 'u', roles: [{ id: '222', name: 'Moderators' }] })).toBe(true);
    expect(isConfiguredAdmin(config, { id: 'u', roles: [{ id: '222', name: 'Members' }] })).toBe(false);
    expect(isConfiguredAdmin({ adminUsers: [] }, { id: 'u', roles: [{ id: '111' }] })).toBe(false);
  });

  it('splitting keeps every piece within the limit and loses no word', () => {
    const text = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const pieces = splitMessage(text, 100);
    expect(pieces.every((piece) => piece.length <= 100)).toBe(true);
    expect(pieces.join(' ')).toBe(text);
  });

  it('drain waits for the work underway and for work that starts meanwhile', async () => {
    const inflight = new InFlight();
    const done: string[] = [];
    let finishFirst!: () => void;
    let finishLate!: () => void;
    const first = inflight.track(new Promise<void>((resolve) => (finishFirst = resolve)).then(() => void done.push('first')));
    const errors: unknown[] = [];
    inflight.run(Promise.reject(new Error('lost')), (error) => errors.push(error));
    const drained = inflight.drain().then(() => void done.push('drained'));
    // Started while draining: drain waits for it too.
    inflight.track(new Promise<void>((resolve) => (finishLate = resolve)).then(() => void done.push('late')));
    finishFirst();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toEqual(['first']);
    finishLate();
    await drained;
    expect(done).toEqual(['first', 'late', 'drained']);
    expect(errors.map(String)).toEqual(['Error: lost']);
    expect(inflight.size).toBe(0);
  });

  it('typing for a message starts only once it is accepted, is shared per channel, and stops with the last holder', async () => {
    const pings: string[] = [];
    const typing = new TypingIndicators(60_000, () => undefined);
    const channel = { id: 'ch', sendTyping: async () => void pings.push('ch') };
    const first = typing.forMessage(channel);
    const second = typing.forMessage(channel);
    expect(pings).toEqual([]);
    first.onAccepted();
    second.onAccepted();
    expect(pings).toEqual(['ch']);
    first.release();
    const refused = typing.forMessage(channel);
    refused.release(); // never accepted: nothing to stop
    second.release();
    const third = typing.forMessage(channel);
    third.onAccepted();
    expect(pings).toEqual(['ch', 'ch']);
    third.release();
    typing.clear();
  });
});
