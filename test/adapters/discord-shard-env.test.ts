/**
 * Discord shards per process from the environment (DISCORD_SHARD_IDS / DISCORD_SHARD_COUNT), as
 * N processes on M machines run one config: two adapters, each on its own bot, against the
 * Discord stand-in; each identifies only its shard and answers only the guild Discord routes to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createDiscordAdapter, { type DiscordAdapter } from '../../adapters/discord/index.js';
import { resolveDiscordConfig, shardsFromEnvironment } from '../../adapters/discord/config.js';
import type { Bot } from '../../core/bot.js';
import { makeTestBot } from '../helpers/bot.js';
import { DiscordStandIn, shardOf, snowflake, type StandInGuild, type StandInUser } from './standins/discord.js';

const SHARD_COUNT = 2;
const alice: StandInUser = { id: snowflake(), username: 'alice' };

describe('shards from the environment', () => {
  it('reads single ids, lists and ranges, and a config that names shards wins', () => {
    expect(shardsFromEnvironment({})).toEqual({});
    expect(shardsFromEnvironment({ DISCORD_SHARD_IDS: '3', DISCORD_SHARD_COUNT: '8' })).toEqual({ shards: [3], shardCount: 8 });
    expect(shardsFromEnvironment({ DISCORD_SHARD_IDS: '0, 2,4-6', DISCORD_SHARD_COUNT: '8' })).toEqual({ shards: [0, 2, 4, 5, 6], shardCount: 8 });
    expect(resolveDiscordConfig({ token: 't', shards: [1], shardCount: 4 }, { DISCORD_SHARD_IDS: '0', DISCORD_SHARD_COUNT: '2' })).toMatchObject({ shards: [1], shardCount: 4 });
  });

  it('refuses half a setting or ids it cannot read, naming the variable', () => {
    expect(() => shardsFromEnvironment({ DISCORD_SHARD_IDS: '0' })).toThrow(/DISCORD_SHARD_COUNT/);
    expect(() => shardsFromEnvironment({ DISCORD_SHARD_IDS: 'one', DISCORD_SHARD_COUNT: '2' })).toThrow(/DISCORD_SHARD_IDS/);
    expect(() => shardsFromEnvironment({ DISCORD_SHARD_IDS: '0', DISCORD_SHARD_COUNT: '0' })).toThrow(/DISCORD_SHARD_COUNT/);
    expect(() => resolveDiscordConfig({ token: 't' }, { DISCORD_SHARD_IDS: '2', DISCORD_SHARD_COUNT: '2' })).toThrow(/shardCount/);
  });
});

describe('two processes\' adapters, each given its shard by the environment', () => {
  const guildIds = [snowflake({ id: 0, count: SHARD_COUNT }), snowflake({ id: 1, count: SHARD_COUNT })];
  const channelIds = [snowflake(), snowflake()];
  const guilds: StandInGuild[] = guildIds.map((id, shard) => ({ id, name: `guild on shard ${shard}`, ownerId: snowflake(), roles: [], channels: [{ id: channelIds[shard], name: 'general' }] }));
  const saved = { ids: process.env.DISCORD_SHARD_IDS, count: process.env.DISCORD_SHARD_COUNT };
  let standIn: DiscordStandIn;
  const bots: Bot[] = [];
  const adapters: DiscordAdapter[] = [];

  beforeAll(async () => {
    expect(guildIds.map((id) => shardOf(id, SHARD_COUNT))).toEqual([0, 1]);
    standIn = await DiscordStandIn.start({ guilds, shards: SHARD_COUNT });
    for (const shard of [0, 1]) {
      const bot = await makeTestBot();
      const adapter = createDiscordAdapter();
      process.env.DISCORD_SHARD_IDS = String(shard);
      process.env.DISCORD_SHARD_COUNT = String(SHARD_COUNT);
      await adapter.start(bot, { token: standIn.token, api: standIn.api, registerCommands: false });
      bots.push(bot);
      adapters.push(adapter);
    }
  });

  afterAll(async () => {
    for (const adapter of adapters) await adapter.stop();
    for (const bot of bots) await bot.stop();
    await standIn?.close();
    for (const [name, value] of [['DISCORD_SHARD_IDS', saved.ids], ['DISCORD_SHARD_COUNT', saved.count]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('each identifies with its own shard of the total', () => {
    expect(standIn.identifies).toEqual([
      [0, SHARD_COUNT],
      [1, SHARD_COUNT],
    ]);
    expect(adapters.map((adapter) => [...adapter.discord.ws.shards.keys()])).toEqual([[0], [1]]);
  });

  it('a message in each guild is answered once, by the bot on that guild\'s shard', async () => {
    const asked = [0, 1].map((shard) => standIn.postMessage({ channelId: channelIds[shard], author: alice, content: `<@${standIn.botUser.id}> hello shard ${shard}` }));
    for (const id of asked) await standIn.waitFor(`a reply to ${id}`, () => standIn.sent.some((m) => m.replyTo === id));
    expect(asked.map((id) => standIn.sent.filter((m) => m.replyTo === id).length)).toEqual([1, 1]);
    for (const shard of [0, 1]) {
      const history = async (bot: Bot) => (await bot.conversation({ platform: 'discord', channel: channelIds[shard] })).history.map((line) => line.text);
      expect(await history(bots[shard])).toContain(`hello shard ${shard}`);
      expect(await history(bots[1 - shard])).toEqual([]);
    }
  });
});
