/**
 * The Discord adapter's feedback buttons and streamed replies, with real discord.js against the
 * Discord stand-in and a real bot on a fixture model that says known multi-sentence replies.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createDiscordAdapter, { type DiscordAdapter } from '../../adapters/discord/index.js';
import type { Bot } from '../../core/bot.js';
import { openFeedbackStore, type FeedbackStore } from '../../core/feedback/index.js';
import type { Plugin } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { SCRIPTED } from '../web/support.js';
import { DiscordStandIn, snowflake, type SentMessage, type StandInGuild, type StandInUser } from './standins/discord.js';

const alice: StandInUser = { id: snowflake(), username: 'alice' };
const EDIT_INTERVAL_MS = 250;
/** Each sentence's check takes a while, as a rule model's would: the stream has more updates than the edits allowed. */
let checks = 0;
const slowCheck: Plugin = {
  name: 'slow-check',
  async checkPartial({ sentence }) {
    checks++;
    await sleep(60);
    return sentence.includes('idiot') ? { reason: 'calls someone an idiot' } : undefined;
  },
};

describe('Discord adapter: streaming and feedback', () => {
  const ids = { guild: snowflake(), general: snowflake(), plain: snowflake() };
  const guild: StandInGuild = { id: ids.guild, name: 'Stand-in guild', ownerId: snowflake(), roles: [], channels: [{ id: ids.general, name: 'general' }, { id: ids.plain, name: 'plain' }] };
  let standIn: DiscordStandIn;
  let bot: Bot;
  let adapter: DiscordAdapter;
  let store: FeedbackStore;

  const mention = (text: string, channelId = ids.general) => standIn.postMessage({ channelId, author: alice, content: `<@${standIn.botUser.id}> ${text}` });
  /** The bot's reply to a message, once it holds its final text (the buttons come with it). */
  const finalReply = async (messageId: string, final: (m: SentMessage) => boolean): Promise<SentMessage> => {
    await standIn.waitFor(`the final reply to ${messageId}`, () => standIn.sent.some((m) => m.replyTo === messageId && final(m)));
    return standIn.sent.find((m) => m.replyTo === messageId)!;
  };
  const answer = async (token: string) => {
    await standIn.waitFor(`the answer to interaction ${token}`, () => standIn.interactionMessages.some((m) => m.token === token));
    return standIn.interactionMessages.find((m) => m.token === token)!.content;
  };

  beforeAll(async () => {
    standIn = await DiscordStandIn.start({ guilds: [guild] });
    store = await openFeedbackStore('memory://', '.');
    bot = await makeTestBot({ ...SCRIPTED }, { plugins: [slowCheck], feedback: store });
    adapter = createDiscordAdapter();
    await adapter.start(bot, { token: standIn.token, api: standIn.api, streamEditIntervalMs: EDIT_INTERVAL_MS, channels: { allow: [], deny: [] } });
  });
  afterAll(async () => {
    await adapter?.stop();
    await bot?.stop();
    await standIn?.close();
  });

  it('posts a one-candidate reply as it is written and edits it as it grows, never faster than the configured interval', async () => {
    checks = 0;
    const id = mention('count to ten');
    const reply = await finalReply(id, (m) => m.content === 'One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.');
    // The first write came while the reply was being written; every write but the last shows it unfinished.
    expect(reply.versions.length).toBeGreaterThanOrEqual(2);
    for (const version of reply.versions.slice(0, -1)) {
      expect(version).toMatch(/^One\..* …$/);
      expect(reply.content.startsWith(version.slice(0, -2))).toBe(true);
    }
    // Writes (the post, then each edit) are at least the interval apart, so updates in between were skipped.
    const gaps = reply.writes.slice(1).map((at, i) => at - reply.writes[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS);
    // Each of the nine sentences followed by more text was checked, and the ones in between writes skipped.
    expect(checks).toBe(9);
    // Streamed in one message: nothing else was sent for it, and it carries the feedback buttons.
    expect(standIn.sent.filter((m) => m.replyTo === id)).toHaveLength(1);
    expect(reply.components[0].components.map((c) => c.emoji?.name)).toEqual(['👍', '👎']);
  });

  it('cuts the stream at the first unsafe sentence, which is never shown, and edits in the fallback', async () => {
    const id = mention('say something rude');
    const reply = await finalReply(id, (m) => m.content === bot.config.selection.fallback);
    expect(reply.versions).toEqual(['Hello there. …', bot.config.selection.fallback]);
    expect(standIn.sent.some((m) => m.versions.some((v) => v.includes('idiot')))).toBe(false);
  });

  it('records 👍 from a button with the whole turn, and thanks only the person who clicked', async () => {
    const id = mention('how are you?');
    const reply = await finalReply(id, (m) => m.components.length > 0);
    const up = reply.components[0].components.find((c) => c.emoji?.name === '👍')!.custom_id!;
    const token = standIn.clickButton({ messageId: reply.id, customId: up, user: alice });
    expect(await answer(token)).toBe('Thanks for the feedback!');
    const [entry] = (await store.feedback()).filter((e) => e.turn.message === 'how are you?');
    expect(entry).toMatchObject({ rating: 'up', turn: { platform: 'discord', conversation: `discord:${ids.general}`, reply: { text: reply.content } } });
    expect(entry.user).not.toContain(alice.id);
  });

  it('asks why in a form after 👎, and stores the reason given', async () => {
    const id = mention('what is the weather like?');
    const reply = await finalReply(id, (m) => m.components.length > 0);
    const down = reply.components[0].components.find((c) => c.emoji?.name === '👎')!.custom_id!;
    const before = standIn.modals.length;
    standIn.clickButton({ messageId: reply.id, customId: down, user: alice });
    await standIn.waitFor('the reason form', () => standIn.modals.length > before);
    const modal = standIn.modals.at(-1)!;
    expect(modal.inputs).toEqual(['reason']);
    const rated = () => store.feedback().then((all) => all.find((e) => e.turn.message === 'what is the weather like?'));
    await expect.poll(rated).toMatchObject({ rating: 'down' });
    expect((await rated())!.reason).toBeUndefined();

    const token = standIn.submitModal({ modal, channelId: ids.general, user: alice, values: { reason: 'I asked about the weather here, not in general.' } });
    expect(await answer(token)).toBe('Thanks, noted.');
    expect(await rated()).toMatchObject({ rating: 'down', reason: 'I asked about the weather here, not in general.' });
  });
});
