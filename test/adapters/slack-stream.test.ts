/**
 * The Slack adapter's feedback buttons and streamed replies, with real Bolt against the Slack
 * stand-in and a real bot on a fixture model that says known multi-sentence replies: the
 * placeholder edited as the reply grows (within the configured rate), Slack's own streaming in
 * threads, and 👍/👎 (with a modal asking why) reaching the feedback store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createSlackAdapter, { type SlackAdapter } from '../../adapters/slack/index.js';
import type { Bot } from '../../core/bot.js';
import { openFeedbackStore, type FeedbackStore } from '../../core/feedback/index.js';
import type { Plugin } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { SCRIPTED } from '../web/support.js';
import { eventCallback, feedbackClick, postSigned, slackTs, SlackStandIn, viewSubmission, type PostedMessage } from './standins/slack.js';

const THINKING = '_thinking…_';
const INTERVAL_MS = 250;
const COUNT = 'One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.';
const slowCheck: Plugin = {
  name: 'slow-check',
  async checkPartial({ sentence }) {
    await sleep(60);
    return sentence.includes('idiot') ? { reason: 'calls someone an idiot' } : undefined;
  },
};

describe('Slack adapter: streaming and feedback', () => {
  let standIn: SlackStandIn;
  let bot: Bot;
  let store: FeedbackStore;
  let edit: SlackAdapter;
  let native: SlackAdapter;
  const urls = { edit: '', native: '' };

  const mention = (channel: string, text: string, extra: Record<string, unknown> = {}) =>
    eventCallback(standIn, { type: 'app_mention', channel, user: 'UALICE', text: `<@${standIn.botUserId}> ${text}`, ts: slackTs(), ...extra });
  const post = (url: string, body: unknown) => postSigned(url, JSON.stringify(body), { secret: standIn.signingSecret });
  const interact = (url: string, payload: unknown) =>
    postSigned(url, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { secret: standIn.signingSecret, contentType: 'application/x-www-form-urlencoded' });
  /** The bot's message in a thread once it holds its final form (`done`). */
  const reply = async (channel: string, thread: string, done: (m: PostedMessage) => boolean) => {
    await standIn.waitFor(`the reply in ${channel}/${thread}`, () => standIn.messagesIn(channel, thread).some((m) => !m.deleted && done(m)));
    return standIn.messagesIn(channel, thread).find((m) => !m.deleted && done(m))!;
  };

  beforeAll(async () => {
    standIn = await SlackStandIn.start();
    store = await openFeedbackStore('memory://', '.');
    bot = await makeTestBot({ ...SCRIPTED }, { plugins: [slowCheck], feedback: store });
    const start = async (stream: 'edit' | 'native') => {
      const adapter = createSlackAdapter();
      await adapter.start(bot, { mode: 'http', botToken: standIn.botToken, signingSecret: standIn.signingSecret, port: 0, host: '127.0.0.1', apiUrl: standIn.apiUrl, stream, streamIntervalMs: INTERVAL_MS });
      urls[stream] = `http://127.0.0.1:${adapter.port}/slack/events`;
      return adapter;
    };
    edit = await start('edit');
    native = await start('native');
  });
  afterAll(async () => {
    await edit?.stop();
    await native?.stop();
    await bot?.stop();
    await standIn?.close();
  });

  it('replaces the placeholder as the reply is written, never faster than the configured interval, then with the reply and its buttons', async () => {
    const event = mention('CEDIT', 'count to ten');
    await post(urls.edit, event);
    const message = await reply('CEDIT', event.event.ts, (m) => m.text === COUNT);
    expect(message.versions[0]).toBe(THINKING);
    const streamed = message.versions.slice(1, -1);
    expect(streamed.length).toBeGreaterThanOrEqual(1);
    for (const version of streamed) {
      expect(version).toMatch(/^One\..* …$/);
      expect(COUNT.startsWith(version.slice(0, -2))).toBe(true);
    }
    // The placeholder's post is Slack's answer to the mention; every write after it keeps the interval.
    const gaps = message.writes.slice(2).map((at, i) => at - message.writes[i + 1]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);
    expect(message.blocks?.at(-1)?.elements?.[0]).toMatchObject({ type: 'feedback_buttons', action_id: 'banter_feedback' });
  });

  it('cuts the stream at the first unsafe sentence, which is never shown, and puts the fallback in its place', async () => {
    const event = mention('CEDIT', 'say something rude');
    await post(urls.edit, event);
    const message = await reply('CEDIT', event.event.ts, (m) => m.text === bot.config.selection.fallback);
    expect(message.versions).toEqual([THINKING, 'Hello there. …', bot.config.selection.fallback]);
  });

  it("streams through Slack's own streaming in a thread, to the person who asked, and removes the placeholder", async () => {
    const event = mention('CNATIVE', 'tell me a story');
    await post(urls.native, event);
    const message = await reply('CNATIVE', event.event.ts, (m) => m.stream === 'stopped');
    expect(message.text).toBe('Once there was a fox. The fox lived by the sea. Every morning it sang to the waves. The end.');
    expect(message.versions[0]).toBe('Once there was a fox.');
    expect(message.blocks?.[0].elements?.[0]).toMatchObject({ type: 'feedback_buttons' });
    expect(standIn.messagesIn('CNATIVE', event.event.ts).filter((m) => !m.deleted)).toEqual([message]);
    const started = standIn.calls.find((c) => c.method === 'chat.startStream' && c.body.channel === 'CNATIVE')!;
    expect(started.body).toMatchObject({ thread_ts: event.event.ts, recipient_user_id: 'UALICE', recipient_team_id: standIn.teamId });
    for (const gap of message.writes.slice(1).map((at, i) => at - message.writes[i])) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS);
  });

  it('records 👍 from the feedback buttons and confirms it to the clicker alone', async () => {
    const event = mention('CRATE', 'how are you?');
    await post(urls.edit, event);
    const message = await reply('CRATE', event.event.ts, (m) => m.blocks !== undefined);
    expect((await interact(urls.edit, feedbackClick(standIn, { message, user: 'UBOB', positive: true, triggerId: 'trigger-up' }))).status).toBe(200);
    await standIn.waitFor('the confirmation', () => standIn.ephemerals.some((e) => e.user === 'UBOB'));
    expect(standIn.ephemerals.find((e) => e.user === 'UBOB')).toMatchObject({ channel: 'CRATE', thread_ts: event.event.ts, text: 'Thanks for the feedback!' });
    const [entry] = (await store.feedback()).filter((e) => e.turn.message === 'how are you?');
    expect(entry).toMatchObject({ rating: 'up', turn: { platform: 'slack', conversation: `slack:CRATE:${event.event.ts}` } });
    expect(entry.user).not.toContain('UBOB');
  });

  it('asks why in a modal after 👎 and stores the reason submitted', async () => {
    const event = mention('CRATE', 'what is the weather like?');
    await post(urls.edit, event);
    const message = await reply('CRATE', event.event.ts, (m) => m.blocks !== undefined);
    await interact(urls.edit, feedbackClick(standIn, { message, user: 'UBOB', positive: false, triggerId: 'trigger-down' }));
    await standIn.waitFor('the reason modal', () => standIn.views.some((v) => v.triggerId === 'trigger-down'));
    const rated = () => store.feedback().then((all) => all.find((e) => e.turn.message === 'what is the weather like?'));
    expect(await rated()).toMatchObject({ rating: 'down' });

    const opened = standIn.views.find((v) => v.triggerId === 'trigger-down')!;
    const submitted = await interact(urls.edit, viewSubmission(standIn, { opened, user: 'UBOB', values: { reason: 'It is sunny here.' } }));
    expect(submitted.status).toBe(200);
    expect(await rated()).toMatchObject({ rating: 'down', reason: 'It is sunny here.' });
  });
});
