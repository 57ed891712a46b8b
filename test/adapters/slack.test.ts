/**
 * The Slack adapter end to end: real Bolt (HTTP receiver and Socket Mode) against the local Slack
 * stand-in, answering through a real bot on the fixture model. Replies are random-model text, so
 * the assertions are about threads, history, signatures, retries and what was posted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createSlackAdapter, { type SlackAdapter } from '../../adapters/slack/index.js';
import { escapeMrkdwn } from '../../adapters/slack/format.js';
import type { Bot } from '../../core/bot.js';
import { makeTestBot } from '../helpers/bot.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { settledHistory } from './settled.js';
import { eventCallback, postSigned, slackTs, slashCommand, SlackStandIn } from './standins/slack.js';

const THINKING = '_thinking…_';
const ADMIN = 'UADMIN';

describe('Slack adapter against the Slack stand-in', () => {
  let standIn: SlackStandIn;
  let bot: Bot;
  let http: SlackAdapter;
  let socket: SlackAdapter;
  let eventsUrl: string;

  const history = async (channel: string, thread?: string) => (await bot.conversation({ platform: 'slack', channel, thread })).history;
  const settled = (turns: number, channel: string, thread?: string) => settledHistory(bot, { platform: 'slack', channel, thread }, turns);
  /** Waits until `count` messages in the thread have been replaced by replies. */
  const answered = async (count: number, channel: string, thread?: string) => {
    const done = () => standIn.messagesIn(channel, thread).filter((m) => m.text !== THINKING);
    await standIn.waitFor(`${count} replies in ${channel}/${thread}`, () => done().length >= count);
    return done();
  };
  const mention = (channel: string, text: string, extra: Record<string, unknown> = {}) =>
    eventCallback(standIn, { type: 'app_mention', channel, user: 'UALICE', text: `<@${standIn.botUserId}> ${text}`, ts: slackTs(), ...extra });
  const post = (body: unknown, headers?: Record<string, string>) => postSigned(eventsUrl, JSON.stringify(body), { secret: standIn.signingSecret, headers });

  beforeAll(async () => {
    standIn = await SlackStandIn.start();
    bot = await makeTestBot();
    http = createSlackAdapter();
    await http.start(bot, {
      mode: 'http',
      botToken: standIn.botToken,
      signingSecret: standIn.signingSecret,
      port: 0,
      host: '127.0.0.1',
      apiUrl: standIn.apiUrl,
      adminUsers: [ADMIN],
      channels: { allow: [], deny: ['CQUIET'] },
    });
    eventsUrl = `http://127.0.0.1:${http.port}/slack/events`;
    socket = createSlackAdapter();
    await socket.start(bot, { mode: 'socket', botToken: standIn.botToken, appToken: standIn.appToken, apiUrl: standIn.apiUrl });
  });

  afterAll(async () => {
    await http?.stop();
    await socket?.stop();
    await bot?.stop();
    await standIn?.close();
  });

  it('checks the bot token with auth.test at start', () => {
    expect(standIn.calls.filter((c) => c.method === 'auth.test').length).toBeGreaterThanOrEqual(2);
  });

  it('answers a mention in its thread: a "thinking" placeholder first, then the reply in its place; the thread is the history key', async () => {
    const first = mention('CGENERAL', 'hello there, how are you?');
    expect((await post(first)).status).toBe(200);
    const thread = first.event.ts;
    const [reply] = await answered(1, 'CGENERAL', thread);
    expect(reply.versions[0]).toBe(THINKING);
    expect(reply.versions).toHaveLength(2);
    const turns = await settled(2, 'CGENERAL', thread);
    expect(turns).toMatchObject([{ role: 'user', text: 'hello there, how are you?' }, { role: 'bot' }]);
    expect(escapeMrkdwn(turns[1].text)).toBe(reply.text);

    const followUp = mention('CGENERAL', 'and a second question', { thread_ts: thread });
    await post(followUp);
    await answered(2, 'CGENERAL', thread);
    expect((await settled(4, 'CGENERAL', thread)).filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['hello there, how are you?', 'and a second question']);
    expect(standIn.messagesIn('CGENERAL').every((m) => m.thread_ts === thread)).toBe(true);
    expect(await history('CGENERAL')).toEqual([]);
  });

  it('answers direct messages at the top level, ignoring bot messages', async () => {
    await post(eventCallback(standIn, { type: 'message', channel_type: 'im', channel: 'DALICE', user: 'UOTHER', bot_id: 'BOTHER', text: 'I am a bot', ts: slackTs() }));
    const dm = eventCallback(standIn, { type: 'message', channel_type: 'im', channel: 'DALICE', user: 'UALICE', text: 'hi, just us here', ts: slackTs() });
    await post(dm);
    const replies = await answered(1, 'DALICE');
    expect(replies).toHaveLength(1);
    expect(replies[0].thread_ts).toBeUndefined();
    expect((await settled(2, 'DALICE')).map((t) => t.text)[0]).toBe('hi, just us here');
  });

  it('runs slash commands from the command table, admin ones only for configured admins', async () => {
    const run = async (command: string, user: string, text = '') => {
      const responseId = randomUUID();
      const form = new URLSearchParams(slashCommand(standIn, { command, text, channel: 'CCOMMANDS', user, responseId })).toString();
      const ack = await postSigned(eventsUrl, form, { secret: standIn.signingSecret, contentType: 'application/x-www-form-urlencoded' });
      expect(ack.status).toBe(200);
      await standIn.waitFor(`the response to ${command}`, () => standIn.responses.some((r) => r.id === responseId));
      return standIn.responses.find((r) => r.id === responseId)!.body;
    };
    const refused = await run('/persona', 'UALICE', 'I am a pirate.');
    expect(refused).toMatchObject({ response_type: 'ephemeral', text: 'Only admins can use /persona.' });
    expect(await run('/persona', ADMIN, 'I am a pirate. I sail.')).toMatchObject({ text: expect.stringMatching(/persona set/i) });
    expect((await bot.conversation({ platform: 'slack', channel: 'CCOMMANDS' })).persona).toEqual(['I am a pirate.', 'I sail.']);
    const help = await run('/help', 'UALICE');
    for (const name of bot.commands.keys()) expect(help.text).toContain(`/${name}`);
  });

  it('rejects a request with a bad signature with 401 and processes nothing', async () => {
    const forged = mention('CGENERAL', 'forged request');
    const response = await postSigned(eventsUrl, JSON.stringify(forged), { secret: 'not-the-secret' });
    expect(response.status).toBe(401);
    const stale = mention('CGENERAL', 'unsigned request');
    const unsigned = await fetch(eventsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stale) });
    expect(unsigned.status).toBe(401);
    // A genuine mention afterwards is answered; the rejected ones never got a placeholder.
    const genuine = mention('CSIGNED', 'genuine request');
    await post(genuine);
    await answered(1, 'CSIGNED', genuine.event.ts);
    expect(standIn.messagesIn('CGENERAL', forged.event.ts)).toEqual([]);
    expect(standIn.messagesIn('CGENERAL', stale.event.ts)).toEqual([]);
    expect(await history('CGENERAL', forged.event.ts)).toEqual([]);
  });

  it('answers an event once when Slack retries it (x-slack-retry-num), before and after the reply', async () => {
    const original = mention('CRETRY', 'please answer only once');
    const thread = original.event.ts;
    expect((await post(original)).status).toBe(200);
    expect((await post(original, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    await answered(1, 'CRETRY', thread);
    expect((await post(original, { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    // A later message in the same thread queues behind anything the retries could have started.
    await post(mention('CRETRY', 'a new question', { thread_ts: thread }));
    await answered(2, 'CRETRY', thread);
    expect(standIn.messagesIn('CRETRY', thread)).toHaveLength(2);
    expect((await settled(4, 'CRETRY', thread)).filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['please answer only once', 'a new question']);
  });

  it('rejects malformed JSON with 400 and keeps serving', async () => {
    const broken = await postSigned(eventsUrl, '{"type": "event_callback", "event": {', { secret: standIn.signingSecret });
    expect(broken.status).toBe(400);
    const challenge = await post({ type: 'url_verification', token: 'legacy-verification-token', challenge: 'still-alive' });
    expect(challenge.status).toBe(200);
    expect(await challenge.json()).toEqual({ challenge: 'still-alive' });
  });

  it('answers a signed body that is not a JSON object (null, a list, a number) with 400, and every adapter keeps running', async () => {
    for (const body of ['null', '[]', '17', '"text"']) expect((await postSigned(eventsUrl, body, { secret: standIn.signingSecret })).status).toBe(400);
    const form = new URLSearchParams({ payload: 'null' }).toString();
    expect((await postSigned(eventsUrl, form, { secret: standIn.signingSecret, contentType: 'application/x-www-form-urlencoded' })).status).toBe(400);
    const genuine = mention('CNULL', 'still there after the null body?');
    await post(genuine);
    await answered(1, 'CNULL', genuine.event.ts);
    const overSocket = mention('CNULLSOCKET', 'and over the socket?');
    await standIn.sendEnvelope('events_api', overSocket);
    await answered(1, 'CNULLSOCKET', overSocket.event.ts);
  });

  it('refuses a correctly signed request whose timestamp is more than 5 minutes away, in either direction', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now + 3600, now + 301, now - 3600]) {
      const event = mention('CCLOCK', `sent at ${timestamp}`);
      expect((await postSigned(eventsUrl, JSON.stringify(event), { secret: standIn.signingSecret, timestamp })).status).toBe(401);
    }
    const inTime = mention('CCLOCK', 'sent a minute ago');
    expect((await postSigned(eventsUrl, JSON.stringify(inTime), { secret: standIn.signingSecret, timestamp: now - 60 })).status).toBe(200);
    await answered(1, 'CCLOCK', inTime.event.ts);
    expect(standIn.messagesIn('CCLOCK')).toHaveLength(1);
  });

  it('stays silent in a denied channel', async () => {
    const denied = mention('CQUIET', 'anyone here?');
    await post(denied);
    const allowed = mention('CLOUD', 'and here?');
    await post(allowed);
    await answered(1, 'CLOUD', allowed.event.ts);
    expect(standIn.messagesIn('CQUIET')).toEqual([]);
    expect(await history('CQUIET', denied.event.ts)).toEqual([]);
  });

  it('works over Socket Mode: connects through apps.connections.open, acks envelopes, answers mentions (retries once) and commands', async () => {
    expect(standIn.calls.some((c) => c.method === 'apps.connections.open')).toBe(true);
    expect(standIn.socketCount).toBe(1);
    const event = mention('CSOCKET', 'hello over the socket');
    await standIn.sendEnvelope('events_api', event);
    await standIn.sendEnvelope('events_api', event, 1); // Slack's retry of the same event
    const thread = event.event.ts;
    await answered(1, 'CSOCKET', thread);
    expect((await settled(2, 'CSOCKET', thread))[0].text).toBe('hello over the socket');
    await standIn.sendEnvelope('events_api', mention('CSOCKET', 'second question', { thread_ts: thread }));
    await answered(2, 'CSOCKET', thread);
    expect(standIn.messagesIn('CSOCKET', thread)).toHaveLength(2);

    const responseId = randomUUID();
    await standIn.sendEnvelope('slash_commands', slashCommand(standIn, { command: '/reset', channel: 'CSOCKET', user: 'UALICE', responseId }));
    await standIn.waitFor('the /reset response', () => standIn.responses.some((r) => r.id === responseId));
    expect(standIn.responses.find((r) => r.id === responseId)!.body.text).toMatch(/history cleared/i);
  });

  it('lets replies underway go out when stopped', async () => {
    const leaving = createSlackAdapter();
    await leaving.start(bot, { mode: 'http', botToken: standIn.botToken, signingSecret: standIn.signingSecret, port: 0, host: '127.0.0.1', apiUrl: standIn.apiUrl });
    const event = mention('CLEAVING', 'one last question');
    await postSigned(`http://127.0.0.1:${leaving.port}/slack/events`, JSON.stringify(event), { secret: standIn.signingSecret });
    await standIn.waitFor('the placeholder', () => standIn.messagesIn('CLEAVING').length === 1);
    await leaving.stop();
    expect(standIn.messagesIn('CLEAVING', event.event.ts).map((m) => m.versions.length)).toEqual([2]);
  });

  it('keeps a delivered reply when the history save fails: never replaced by the apology', async () => {
    const store = await FaultyStore.open();
    const failing = await makeTestBot({}, { history: store, saveRetryDelaysMs: [1] });
    const adapter = createSlackAdapter();
    try {
      await adapter.start(failing, { mode: 'http', botToken: standIn.botToken, signingSecret: standIn.signingSecret, port: 0, host: '127.0.0.1', apiUrl: standIn.apiUrl });
      store.failSaves = Infinity;
      const event = mention('CFAILSAVE', 'will this be saved?');
      await postSigned(`http://127.0.0.1:${adapter.port}/slack/events`, JSON.stringify(event), { secret: standIn.signingSecret });
      const [reply] = await answered(1, 'CFAILSAVE', event.event.ts);
      // Every save attempt failed by the time the turn ends; the reply posted before them stands.
      await standIn.waitFor('the save attempts', () => store.saveAttempts >= 3);
      await adapter.stop();
      expect(reply.versions).toHaveLength(2);
      expect(reply.versions[0]).toBe(THINKING);
      expect(reply.text).not.toMatch(/sorry|EISDIR|history\.json/i);
    } finally {
      await adapter.stop();
      await failing.stop();
    }
  });

  it('answers an event once when Slack retries it after a restart (dedupe kept in the history store)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'banter-slack-'));
    const store = `file://${join(dir, 'history.json')}`;
    const run = async (body: unknown, headers?: Record<string, string>) => {
      const restarted = await makeTestBot({ history: { store } });
      const adapter = createSlackAdapter();
      try {
        await adapter.start(restarted, { mode: 'http', botToken: standIn.botToken, signingSecret: standIn.signingSecret, port: 0, host: '127.0.0.1', apiUrl: standIn.apiUrl });
        expect((await postSigned(`http://127.0.0.1:${adapter.port}/slack/events`, JSON.stringify(body), { secret: standIn.signingSecret, headers })).status).toBe(200);
        await adapter.stop(); // lets an answer under way finish
      } finally {
        await restarted.stop();
      }
    };
    try {
      const event = mention('CRESTART', 'answer me once, even across a restart');
      await run(event);
      expect(standIn.messagesIn('CRESTART')).toHaveLength(1);
      await run(event, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });
      // A new event after the second restart is answered, so that process was listening.
      const later = mention('CRESTART', 'and a new question');
      await run(later);
      expect(standIn.messagesIn('CRESTART').map((m) => m.thread_ts)).toEqual([event.event.ts, later.event.ts]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start in http mode without the signing secret, naming the variable to set', async () => {
    await expect(createSlackAdapter().start(bot, { mode: 'http', botToken: standIn.botToken })).rejects.toThrow(/SLACK_SIGNING_SECRET/);
  });
});
