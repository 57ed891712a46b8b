/**
 * Per-conversation isolation under load: 100 conversations at once across the Discord and Slack
 * adapters of one bot, two messages each, all sent before any reply. Every reply must land in its
 * own channel or thread, and every history must hold exactly its own turns, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createDiscordAdapter, { type DiscordAdapter } from '../../adapters/discord/index.js';
import createSlackAdapter, { type SlackAdapter } from '../../adapters/slack/index.js';
import { escapeMrkdwn } from '../../adapters/slack/format.js';
import type { Bot } from '../../core/bot.js';
import type { ConversationAddress } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { settledHistory } from './settled.js';
import { DiscordStandIn, snowflake, type StandInGuild } from './standins/discord.js';
import { eventCallback, postSigned, slackTs, SlackStandIn } from './standins/slack.js';

const PER_PLATFORM = 50;
const THINKING = '_thinking…_';

describe('100 conversations across Discord and Slack at once', () => {
  const channels = Array.from({ length: PER_PLATFORM }, () => snowflake());
  const guild: StandInGuild = { id: snowflake(), name: 'busy guild', ownerId: snowflake(), roles: [], channels: channels.map((id, i) => ({ id, name: `room-${i}` })) };
  const alice = { id: snowflake(), username: 'alice' };
  let discord: DiscordStandIn;
  let slack: SlackStandIn;
  let bot: Bot;
  let discordAdapter: DiscordAdapter;
  let slackAdapter: SlackAdapter;

  beforeAll(async () => {
    discord = await DiscordStandIn.start({ guilds: [guild] });
    slack = await SlackStandIn.start();
    // Short replies keep 200 generations quick; isolation does not depend on their length.
    bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 }, engine: { maxConcurrentGenerations: 2 },
      // One test user holds all 100 conversations: the per-user cap is not what this test is about.
      admission: { maxPerUser: 0 },
    });
    discordAdapter = createDiscordAdapter();
    await discordAdapter.start(bot, { token: discord.token, api: discord.api, registerCommands: false });
    slackAdapter = createSlackAdapter();
    await slackAdapter.start(bot, { mode: 'http', botToken: slack.botToken, signingSecret: slack.signingSecret, port: 0, host: '127.0.0.1', apiUrl: slack.apiUrl });
  });

  afterAll(async () => {
    await discordAdapter?.stop();
    await slackAdapter?.stop();
    await bot?.stop();
    await discord?.close();
    await slack?.close();
  });

  it('every reply lands in its own channel or thread and every history holds only its own turns', async () => {
    const eventsUrl = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
    const mention = `<@${discord.botUser.id}>`;
    // Discord: one conversation per channel. Slack: one per thread, five threads per channel.
    const discordAsked = channels.map((channelId, i) => ({
      address: { platform: 'discord', channel: channelId } as ConversationAddress,
      ids: [`discord ${i} first`, `discord ${i} second`].map((text) => discord.postMessage({ channelId, author: alice, content: `${mention} ${text}` })),
    }));
    const slackAsked = Array.from({ length: PER_PLATFORM }, (_, i) => ({ channel: `CLOAD${i % 10}`, ts: slackTs(), i }));
    // The second message of each thread goes once Slack's first delivery was acknowledged.
    for (const wave of [0, 1]) {
      const posts = slackAsked.map(({ channel, ts, i }) => {
        const event = { type: 'app_mention', channel, user: 'UALICE', text: `<@${slack.botUserId}> slack ${i} ${wave === 0 ? 'first' : 'second'}`, ts: wave === 0 ? ts : slackTs(), ...(wave === 0 ? {} : { thread_ts: ts }) };
        return postSigned(eventsUrl, JSON.stringify(eventCallback(slack, event)), { secret: slack.signingSecret });
      });
      expect((await Promise.all(posts)).map((r) => r.status)).toEqual(posts.map(() => 200));
    }

    await discord.waitFor('all Discord replies', () => discordAsked.every(({ ids }) => ids.every((id) => discord.sent.some((m) => m.replyTo === id))), 300_000);
    await slack.waitFor('all Slack replies', () => slackAsked.every(({ channel, ts }) => slack.messagesIn(channel, ts).filter((m) => m.text !== THINKING).length === 2), 300_000);

    for (const [i, { address, ids }] of discordAsked.entries()) {
      const replies = ids.map((id) => discord.sent.filter((m) => m.replyTo === id));
      expect(replies.map((r) => r.map((m) => m.channelId))).toEqual([[address.channel], [address.channel]]);
      const turns = await settledHistory(bot, address, 4);
      expect(turns.map((t) => `${t.role}: ${t.text}`)).toEqual([
        `user: discord ${i} first`,
        `bot: ${replies[0][0].content}`,
        `user: discord ${i} second`,
        `bot: ${replies[1][0].content}`,
      ]);
    }
    for (const { channel, ts, i } of slackAsked) {
      const replies = slack.messagesIn(channel, ts).map((m) => m.text);
      const turns = await settledHistory(bot, { platform: 'slack', channel, thread: ts }, 4);
      expect(turns.map((t) => t.role)).toEqual(['user', 'bot', 'user', 'bot']);
      expect(turns.filter((t) => t.role === 'user').map((t) => t.text)).toEqual([`slack ${i} first`, `slack ${i} second`]);
      // Placeholders of one thread may be posted in either order; the set of replies must match.
      expect(turns.filter((t) => t.role === 'bot').map((t) => escapeMrkdwn(t.text)).sort()).toEqual(replies.sort());
    }
    // Nothing was posted outside the conversations' own channels and threads.
    expect(discord.sent).toHaveLength(PER_PLATFORM * 2);
    expect(slack.messages).toHaveLength(PER_PLATFORM * 2);
    expect(slack.messages.every((m) => slackAsked.some(({ channel, ts }) => m.channel === channel && m.thread_ts === ts))).toBe(true);
  });
});
