/**
 * The Discord adapter end to end: real discord.js against the local Discord stand-in, answering
 * through a real bot on the fixture model. Replies are random-model text, so the assertions are
 * about routing, threads, history, ordering and what was sent, never about wording.
 */
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createDiscordAdapter, { UNSENT_NOTICE, type DiscordAdapter } from '../../adapters/discord/index.js';
import { DISCORD_MESSAGE_LIMIT } from '../../adapters/discord/format.js';
import type { Bot } from '../../core/bot.js';
import type { Plugin } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { settledHistory } from './settled.js';
import { DiscordStandIn, snowflake, type StandInGuild, type StandInUser } from './standins/discord.js';

const alice: StandInUser = { id: snowflake(), username: 'alice' };
const mod: StandInUser = { id: snowflake(), username: 'mod' };
const otherBot: StandInUser = { id: snowflake(), username: 'otherbot', bot: true };

/** Sentences long enough that a reply of them needs two Discord messages. */
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `Sentence number ${i + 1} talks about the mountain at some length.`).join(' ');
const SOURCE = { title: 'Mount Everest [wiki]', url: 'https://en.wikipedia.org/wiki/Mount_Everest' };

/** Answers `#long` with a long reply carrying a citation, the way a grounded reply would. */
const longReplies: Plugin = {
  name: 'long-replies',
  finalize(turn) {
    if (turn.message.text.includes('#long')) turn.reply = { text: LONG_TEXT, kind: 'model', citations: [SOURCE] };
  },
};

/** Answers `#unsendable` with a reply the stand-in refuses to post. */
const unsendableReplies: Plugin = {
  name: 'unsendable-replies',
  finalize(turn) {
    if (turn.message.text.includes('#unsendable')) turn.reply = { text: 'This #unsendable reply never gets through.', kind: 'model', citations: [] };
  },
};

/** Holds `#slow` turns until the stand-in has seen the typing indicator renewed, like a slow model would. */
const slowReplies = (typingRenewed: () => Promise<void>): Plugin => ({
  name: 'slow-replies',
  async inspect(turn) {
    if (turn.message.text.includes('#slow')) await typingRenewed();
  },
});

describe('Discord adapter against the Discord stand-in', () => {
  const ids = { guild: snowflake(), general: snowflake(), quiet: snowflake(), retry: snowflake(), lostAnswer: snowflake(), outage: snowflake(), unsendable: snowflake(), gateway: snowflake(), long: snowflake(), commands: snowflake(), slow: snowflake(), ignore: snowflake(), botThread: snowflake(), userThread: snowflake(), dm: snowflake() };
  const roles = { moderators: snowflake(), managers: snowflake() };
  const guild: StandInGuild = {
    id: ids.guild,
    name: 'Stand-in guild',
    ownerId: snowflake(),
    roles: [
      { id: roles.moderators, name: 'Moderators', permissions: 0n },
      { id: roles.managers, name: 'Managers', permissions: PermissionFlagsBits.ManageGuild },
    ],
    channels: [
      { id: ids.general, name: 'general' },
      { id: ids.quiet, name: 'quiet' },
      { id: ids.retry, name: 'retry' },
      { id: ids.lostAnswer, name: 'lost-answer' },
      { id: ids.outage, name: 'outage' },
      { id: ids.unsendable, name: 'unsendable' },
      { id: ids.gateway, name: 'gateway' },
      { id: ids.long, name: 'long' },
      { id: ids.commands, name: 'commands' },
      { id: ids.slow, name: 'slow' },
      { id: ids.ignore, name: 'ignore' },
    ],
  };
  const deniedGuild: StandInGuild = { id: snowflake(), name: 'Denied guild', ownerId: snowflake(), roles: [], channels: [{ id: snowflake(), name: 'elsewhere' }] };
  let standIn: DiscordStandIn;
  let bot: Bot;
  let adapter: DiscordAdapter;

  const repliesTo = (messageId: string) => standIn.sent.filter((m) => m.replyTo === messageId);
  const history = async (channel: string, thread?: string) => (await bot.conversation({ platform: 'discord', channel, thread })).history;
  const waitForReply = (messageId: string) => standIn.waitFor(`a reply to ${messageId}`, () => repliesTo(messageId).length > 0);
  const settled = (turns: number, channel: string, thread?: string) => settledHistory(bot, { platform: 'discord', channel, thread }, turns);

  beforeAll(async () => {
    const botThreadOwner = snowflake(); // replaced below once the bot's id is known
    guild.channels.push({ id: ids.botThread, name: 'bot thread', parentId: ids.general, ownerId: botThreadOwner }, { id: ids.userThread, name: 'user thread', parentId: ids.general, ownerId: alice.id });
    standIn = await DiscordStandIn.start({ guilds: [guild, deniedGuild] });
    guild.channels.find((c) => c.id === ids.botThread)!.ownerId = standIn.botUser.id;
    const typingRenewed = () => standIn.waitFor('a renewed typing indicator', () => standIn.typing.filter((c) => c === ids.slow).length >= 2);
    bot = await makeTestBot({ log: { level: (process.env.LOG_LEVEL ?? 'silent') as 'silent' } }, { plugins: [longReplies, unsendableReplies, slowReplies(typingRenewed)] });
    adapter = createDiscordAdapter();
    await adapter.start(bot, { token: standIn.token, api: standIn.api, channels: { allow: [], deny: [ids.quiet] }, guilds: { allow: [], deny: [deniedGuild.id] }, adminRoles: ['Moderators'], typingIntervalMs: 1000 });
  });

  afterAll(async () => {
    await adapter?.stop();
    await bot?.stop();
    await standIn?.close();
  });

  it('connects through GET /gateway/bot, IDENTIFY and READY, and registers the command table as slash commands', () => {
    expect(standIn.requests.find((r) => r.path === '/gateway/bot')?.status).toBe(200);
    expect(standIn.identifies).toEqual([[0, 1]]);
    expect(adapter.discord.guilds.cache.has(ids.guild)).toBe(true);
    expect(standIn.commandRegistrations).toHaveLength(1);
    const registered = standIn.commandRegistrations[0];
    expect(registered.path).toBe(`/applications/${standIn.applicationId}/commands`);
    expect(registered.body.map((c) => c.name).sort()).toEqual([...bot.commands.keys()].sort());
    expect(registered.body.find((c) => c.name === 'persona')?.options?.map((o) => o.name)).toEqual(['text']);
  });

  it('answers a mention: typing first, then one reply to that message that pings nobody, and both turns in the channel history', async () => {
    const id = standIn.postMessage({ channelId: ids.general, author: alice, content: `<@${standIn.botUser.id}> hello there, how are you?` });
    await waitForReply(id);
    const [reply] = repliesTo(id);
    expect(reply.channelId).toBe(ids.general);
    expect(reply.allowedMentions).toEqual({ parse: [], replied_user: true });
    const typingAt = standIn.requests.findIndex((r) => r.path === `/channels/${ids.general}/typing`);
    const sentAt = standIn.requests.findIndex((r) => r.path === `/channels/${ids.general}/messages` && r.status === 200);
    expect(typingAt).toBeGreaterThanOrEqual(0);
    expect(typingAt).toBeLessThan(sentAt);
    expect(await settled(2, ids.general)).toMatchObject([
      { role: 'user', text: 'hello there, how are you?' },
      { role: 'bot', text: reply.content },
    ]);
  });

  it('renews the typing indicator while a slow reply is generated, until it is sent', async () => {
    const id = standIn.postMessage({ channelId: ids.slow, author: alice, content: `<@${standIn.botUser.id}> take your time #slow` });
    await waitForReply(id);
    const forChannel = standIn.requests.filter((r) => r.path.startsWith(`/channels/${ids.slow}/`));
    const kinds = forChannel.map((r) => r.path.split('/').at(-1));
    expect(kinds.filter((k) => k === 'typing').length).toBeGreaterThanOrEqual(2);
    expect(kinds.at(-1)).toBe('messages');
  });

  it('ignores other bots and its own echoed messages, and stays silent in a denied channel and guild', async () => {
    const elsewhere = deniedGuild.channels[0].id;
    const inDeniedGuild = standIn.postMessage({ channelId: elsewhere, author: alice, content: `<@${standIn.botUser.id}> over here?` });
    const fromBot = standIn.postMessage({ channelId: ids.ignore, author: otherBot, content: `<@${standIn.botUser.id}> beep boop` });
    const denied = standIn.postMessage({ channelId: ids.quiet, author: alice, content: `<@${standIn.botUser.id}> anyone here?` });
    const unmentioned = standIn.postMessage({ channelId: ids.ignore, author: alice, content: 'just chatting, no mention' });
    // Events are handled in gateway order: once this is answered, the three above were seen.
    const after = standIn.postMessage({ channelId: ids.ignore, author: alice, content: `<@${standIn.botUser.id}> still there?` });
    await waitForReply(after);
    for (const ignored of [inDeniedGuild, fromBot, denied, unmentioned]) expect(repliesTo(ignored)).toEqual([]);
    expect(standIn.typing).not.toContain(ids.quiet);
    expect(standIn.typing).not.toContain(elsewhere);
    expect(await history(ids.quiet)).toEqual([]);
    // Every message the bot sent answers a person's message, never one of its own echoes.
    const botMessageIds = new Set(standIn.sent.map((m) => m.id));
    expect(standIn.sent.every((m) => m.replyTo !== undefined && !botMessageIds.has(m.replyTo))).toBe(true);
    expect((await settled(2, ids.ignore)).map((t) => t.text)).toEqual(['still there?', repliesTo(after)[0].content]);
  });

  it('answers DMs without a mention, keyed by the DM channel', async () => {
    const id = standIn.postMessage({ channelId: ids.dm, author: alice, content: 'hi bot, this is a DM', dm: true });
    await waitForReply(id);
    expect(repliesTo(id).map((m) => m.channelId)).toEqual([ids.dm]);
    expect(await settled(2, ids.dm)).toMatchObject([{ role: 'user', text: 'hi bot, this is a DM' }, { role: 'bot' }]);
  });

  it('answers every message in a thread it started, and in other threads only once mentioned there; a thread is its own conversation', async () => {
    const inBotThread = standIn.postMessage({ channelId: ids.botThread, author: alice, content: 'no mention in your thread' });
    const beforeMention = standIn.postMessage({ channelId: ids.userThread, author: alice, content: 'talking among ourselves' });
    const mention = standIn.postMessage({ channelId: ids.userThread, author: alice, content: `<@${standIn.botUser.id}> join us` });
    const followUp = standIn.postMessage({ channelId: ids.userThread, author: alice, content: 'and now without a mention' });
    await waitForReply(inBotThread);
    await waitForReply(followUp);
    expect(repliesTo(beforeMention)).toEqual([]);
    expect(repliesTo(mention).map((m) => m.channelId)).toEqual([ids.userThread]);
    expect(repliesTo(followUp).map((m) => m.channelId)).toEqual([ids.userThread]);
    expect(repliesTo(inBotThread).map((m) => m.channelId)).toEqual([ids.botThread]);
    const userThread = await settled(4, ids.general, ids.userThread);
    expect(userThread.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['join us', 'and now without a mention']);
    expect((await settled(2, ids.general, ids.botThread)).map((t) => t.role)).toEqual(['user', 'bot']);
  });

  it('runs slash commands from the command table, with admin commands for the configured role or permission only', async () => {
    const warmUp = standIn.postMessage({ channelId: ids.commands, author: alice, content: `<@${standIn.botUser.id}> something to forget` });
    await waitForReply(warmUp);
    expect(await settled(2, ids.commands)).toHaveLength(2);
    const answer = async (token: string) => {
      await standIn.waitFor(`the answer to interaction ${token}`, () => standIn.interactionMessages.some((m) => m.token === token));
      return standIn.interactionMessages.find((m) => m.token === token)!.content;
    };
    const refused = await answer(standIn.runCommand({ channelId: ids.commands, user: alice, name: 'persona', value: 'I am a pirate.' }));
    expect(refused).toMatch(/only admins/i);
    expect((await bot.conversation({ platform: 'discord', channel: ids.commands })).persona).toBeUndefined();

    const byRole = await answer(standIn.runCommand({ channelId: ids.commands, user: mod, name: 'persona', value: 'I am a pirate. I love the sea.', roles: [roles.moderators] }));
    expect(byRole).toMatch(/persona set/i);
    expect((await bot.conversation({ platform: 'discord', channel: ids.commands })).persona).toEqual(['I am a pirate.', 'I love the sea.']);

    const byPermission = await answer(standIn.runCommand({ channelId: ids.commands, user: mod, name: 'preset', permissions: PermissionFlagsBits.ManageGuild }));
    expect(byPermission).toMatch(/^Presets: /);

    const reset = await answer(standIn.runCommand({ channelId: ids.commands, user: alice, name: 'reset' }));
    expect(reset).toMatch(/history cleared/i);
    expect(await history(ids.commands)).toEqual([]);
    // Commands were deferred (type 5) before the bot answered, so a busy conversation cannot time them out.
    expect(standIn.interactionCallbacks.map((c) => c.type)).toEqual([5, 5, 5, 5]);

    const denied = await answer(standIn.runCommand({ channelId: ids.quiet, user: mod, name: 'help' }));
    expect(denied).toMatch(/not set up to answer in this channel/);
  });

  it('splits a reply over 2,000 characters on sentence boundaries, with the citation as a markdown link', async () => {
    const id = standIn.postMessage({ channelId: ids.long, author: alice, content: `<@${standIn.botUser.id}> tell me everything #long` });
    await standIn.waitFor('both parts of the long reply', () => standIn.sent.filter((m) => m.channelId === ids.long).length >= 2);
    const parts = standIn.sent.filter((m) => m.channelId === ids.long);
    expect(parts).toHaveLength(2);
    expect(parts[0].replyTo).toBe(id);
    for (const part of parts) expect(part.content.length).toBeLessThanOrEqual(DISCORD_MESSAGE_LIMIT);
    expect(parts[0].content).toMatch(/at some length\.$/);
    expect(parts[1].content).toMatch(/^Sentence number \d+ /);
    expect(parts[1].content).toContain('Sources: [Mount Everest wiki](<https://en.wikipedia.org/wiki/Mount_Everest>)');
    expect(`${parts[0].content} ${parts[1].content}`.startsWith(LONG_TEXT)).toBe(true);
    for (const part of parts) expect(part.allowedMentions?.parse).toEqual([]);
  });

  it('waits out a 429 on send and delivers the reply exactly once', async () => {
    standIn.rateLimitNextSends(ids.retry, 1);
    const id = standIn.postMessage({ channelId: ids.retry, author: alice, content: `<@${standIn.botUser.id}> are you rate limited?` });
    await waitForReply(id);
    const sends = standIn.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${ids.retry}/messages`);
    expect(sends.map((r) => r.status)).toEqual([429, 200]);
    expect(repliesTo(id)).toHaveLength(1);
    expect((await settled(2, ids.retry)).map((t) => t.role)).toEqual(['user', 'bot']);
  });

  it('posts a reply once when a send is retried after a 502 that came after the message was created (nonce + enforce_nonce)', async () => {
    standIn.failNextSends(ids.lostAnswer, 1, { status: 502, afterCreate: true });
    standIn.postMessage({ channelId: ids.lostAnswer, author: alice, content: `<@${standIn.botUser.id}> did my answer arrive?` });
    // The first attempt already created the message (the 502 came after), so wait for the retry itself.
    const lostAnswerSends = () => standIn.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${ids.lostAnswer}/messages`);
    await standIn.waitFor('the retried send', () => lostAnswerSends().length >= 2);
    const sends = lostAnswerSends();
    expect(sends.map((r) => r.status)).toEqual([502, 200]);
    const nonces = sends.map((r) => (r.body as { nonce?: string; enforce_nonce?: boolean }));
    expect(nonces[0].nonce).toBeTruthy();
    expect(nonces.every((b) => b.nonce === nonces[0].nonce && b.enforce_nonce === true)).toBe(true);
    expect(standIn.sent.filter((m) => m.channelId === ids.lostAnswer)).toHaveLength(1);
    expect((await settled(2, ids.lostAnswer)).map((t) => t.role)).toEqual(['user', 'bot']);
  });

  it('rides out five 500s in a row on a send and posts the reply once', async () => {
    standIn.failNextSends(ids.outage, 5);
    const id = standIn.postMessage({ channelId: ids.outage, author: alice, content: `<@${standIn.botUser.id}> are you there?` });
    await waitForReply(id);
    const sends = standIn.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${ids.outage}/messages`);
    expect(sends.map((r) => r.status)).toEqual([500, 500, 500, 500, 500, 200]);
    expect(repliesTo(id)).toHaveLength(1);
  });

  it('tells the person when a reply could not be sent after every retry, and keeps it out of the history', async () => {
    standIn.refuseSendsContaining('#unsendable');
    const id = standIn.postMessage({ channelId: ids.unsendable, author: alice, content: `<@${standIn.botUser.id}> say something #unsendable` });
    await waitForReply(id);
    expect(repliesTo(id).map((m) => m.content)).toEqual([UNSENT_NOTICE]);
    const refused = standIn.requests.filter((r) => r.path === `/channels/${ids.unsendable}/messages` && r.status === 500);
    expect(refused.length).toBeGreaterThan(4);
    expect(await history(ids.unsendable)).toEqual([]);
  });

  it('loses nothing across gateway drops and RECONNECT: messages sent meanwhile are replayed on RESUME and answered once, in order', async () => {
    const identifiesBefore = standIn.identifies.length;
    const first = standIn.postMessage({ channelId: ids.gateway, author: alice, content: `<@${standIn.botUser.id}> first question` });
    standIn.dropConnections();
    const second = standIn.postMessage({ channelId: ids.gateway, author: alice, content: `<@${standIn.botUser.id}> second, sent while you were away` });
    await standIn.waitFor('a resumed session', () => standIn.resumes.length >= 1);
    standIn.requestReconnect();
    const third = standIn.postMessage({ channelId: ids.gateway, author: alice, content: `<@${standIn.botUser.id}> third, around a reconnect` });
    await waitForReply(first);
    await waitForReply(second);
    await waitForReply(third);
    await standIn.waitFor('the second resume', () => standIn.resumes.length >= 2);
    for (const id of [first, second, third]) expect(repliesTo(id)).toHaveLength(1);
    expect(standIn.identifies.length).toBe(identifiesBefore);
    const turns = await settled(6, ids.gateway);
    expect(turns.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['first question', 'second, sent while you were away', 'third, around a reconnect']);
    expect(turns.filter((t) => t.role === 'bot').map((t) => t.text)).toEqual([first, second, third].map((id) => repliesTo(id)[0].content));
  });

  it('refuses to start without a token, naming the variable to set', async () => {
    await expect(createDiscordAdapter().start(bot, { token: '${DISCORD_TOKEN}' })).rejects.toThrow(/DISCORD_TOKEN/);
  });
});

describe('Discord adapter when the history store fails', () => {
  const guild: StandInGuild = { id: snowflake(), name: 'Failing store', ownerId: snowflake(), roles: [], channels: [{ id: snowflake(), name: 'general' }] };
  const channel = guild.channels[0].id;
  let standIn: DiscordStandIn;
  let bot: Bot;
  let adapter: DiscordAdapter;
  let store: FaultyStore;

  beforeAll(async () => {
    standIn = await DiscordStandIn.start({ guilds: [guild] });
    store = await FaultyStore.open();
    bot = await makeTestBot({}, { history: store, saveRetryDelaysMs: [1] });
    adapter = createDiscordAdapter();
    await adapter.start(bot, { token: standIn.token, api: standIn.api, registerCommands: false });
  });

  afterAll(async () => {
    await adapter?.stop();
    await bot?.stop();
    await standIn?.close();
  });

  it('keeps the delivered reply, retries the save, and says nothing about the store', async () => {
    store.failSaves = Infinity;
    const id = standIn.postMessage({ channelId: channel, author: alice, content: `<@${standIn.botUser.id}> will you remember this?` });
    await standIn.waitFor('a reply', () => standIn.sent.some((m) => m.replyTo === id));
    await standIn.waitFor('the save attempts', () => store.saveAttempts >= 3);
    const sent = standIn.sent.filter((m) => m.channelId === channel);
    expect(sent).toHaveLength(1);
    expect(sent[0].content).not.toMatch(/sorry|EISDIR|history\.json/i);
  });
});

describe('Discord adapter under sharding', () => {
  const guildOnShard = [snowflake({ id: 0, count: 2 }), snowflake({ id: 1, count: 2 })];
  const channelOf = [snowflake(), snowflake()];
  const guilds: StandInGuild[] = guildOnShard.map((id, shard) => ({ id, name: `guild on shard ${shard}`, ownerId: snowflake(), roles: [], channels: [{ id: channelOf[shard], name: 'general' }] }));
  let standIn: DiscordStandIn;
  const bots: Bot[] = [];
  const adapters: DiscordAdapter[] = [];

  beforeAll(async () => {
    standIn = await DiscordStandIn.start({ guilds, shards: 2 });
    // Two processes as ShardingManager runs them, each its own bot and one shard: shard 0 set in
    // the adapter config, shard 1 through the SHARDS / SHARD_COUNT variables ShardingManager sets.
    for (const shard of [0, 1]) {
      const bot = await makeTestBot();
      const adapter = createDiscordAdapter();
      if (shard === 0) await adapter.start(bot, { token: standIn.token, api: standIn.api, shards: [0], shardCount: 2 });
      else {
        Object.assign(process.env, { SHARDS: '[1]', SHARD_COUNT: '2' });
        try {
          await adapter.start(bot, { token: standIn.token, api: standIn.api });
        } finally {
          delete process.env.SHARDS;
          delete process.env.SHARD_COUNT;
        }
      }
      bots.push(bot);
      adapters.push(adapter);
    }
  });

  afterAll(async () => {
    for (const adapter of adapters) await adapter.stop();
    for (const bot of bots) await bot.stop();
    await standIn?.close();
  });

  it('each shard identifies as itself, receives only its guilds and answers only there', async () => {
    expect(standIn.identifies).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(adapters.map((a) => [...a.discord.guilds.cache.keys()])).toEqual([[guildOnShard[0]], [guildOnShard[1]]]);
    const asked = channelOf.map((channelId, shard) => standIn.postMessage({ channelId, author: alice, content: `<@${standIn.botUser.id}> question for shard ${shard}` }));
    await standIn.waitFor('both replies', () => asked.every((id) => standIn.sent.some((m) => m.replyTo === id)));
    expect(asked.map((id) => standIn.sent.filter((m) => m.replyTo === id).length)).toEqual([1, 1]);
    for (const shard of [0, 1]) {
      const own = await settledHistory(bots[shard], { platform: 'discord', channel: channelOf[shard] }, 2);
      const other = await bots[shard].conversation({ platform: 'discord', channel: channelOf[1 - shard] });
      expect(own.map((t) => t.text)[0]).toBe(`question for shard ${shard}`);
      expect(other.history).toEqual([]);
    }
    // Only the process running shard 0 registers slash commands.
    expect(standIn.commandRegistrations).toHaveLength(1);
  });
});
