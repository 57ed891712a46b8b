/**
 * The Discord adapter under discord.js's real ShardingManager, as the adapter README tells users to
 * run it: two child processes, each `banter start --config bot.yaml` from the compiled CLI on the
 * fixture model, each told its shard through the environment the manager sets. The local Discord
 * stand-in routes each guild to the shard Discord's formula picks, so the assertions are about which
 * process saw and answered what, never about the (random-model) wording.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ShardingManager, type Shard } from 'discord.js';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { DiscordStandIn, shardOf, snowflake, type StandInGuild, type StandInUser } from './standins/discord.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
const SHARD_COUNT = 2;
/** Each child loads its own copy of the model; the shared machine can be slow. */
const SPAWN_TIMEOUT_MS = 180_000;

/** The variables ShardingManager writes into this process's environment, restored afterwards. */
const MANAGER_ENV = ['SHARDING_MANAGER', 'SHARDING_MANAGER_MODE', 'DISCORD_TOKEN'] as const;

const alice: StandInUser = { id: snowflake(), username: 'alice' };

/** Compiles the project so the shard processes run the current code. */
function build(): void {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`npx tsc -p tsconfig.build.json failed (${tsc.status ?? tsc.signal}):\n${tsc.stdout}${tsc.stderr}`);
}

/** Stops a shard's process and waits for it to exit: SIGTERM (the CLI stops the bot), then SIGKILL. */
async function stopShard(shard: Shard): Promise<void> {
  const child = shard.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  shard.kill();
  const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(forced);
}

describe('Discord adapter under discord.js ShardingManager (one child process per shard)', () => {
  const guildIds = [snowflake({ id: 0, count: SHARD_COUNT }), snowflake({ id: 1, count: SHARD_COUNT })];
  const channelIds = [snowflake(), snowflake()];
  const guilds: StandInGuild[] = guildIds.map((id, shard) => ({ id, name: `guild on shard ${shard}`, ownerId: snowflake(), roles: [], channels: [{ id: channelIds[shard], name: 'general' }] }));
  const savedEnv = Object.fromEntries(MANAGER_ENV.map((name) => [name, process.env[name]]));
  /** Each shard process's stdout and stderr, shown when a shard fails to come up. */
  const output = new Map<number, string>();
  let standIn: DiscordStandIn;
  let manager: ShardingManager;
  let workDir: string;

  const repliesTo = (messageId: string) => standIn.sent.filter((m) => m.replyTo === messageId);
  /** Ids of the MESSAGE_CREATE events the stand-in dispatched on a shard's gateway session. */
  const messagesSeenBy = (shard: number) => (standIn.sessions.get(shard)?.log ?? []).filter((e) => e.t === 'MESSAGE_CREATE').map((e) => (e.d as { id: string }).id);
  const ask = (shard: number, content: string) => standIn.postMessage({ channelId: channelIds[shard], author: alice, content: `<@${standIn.botUser.id}> ${content}` });

  beforeAll(async () => {
    // The ids must land where the test says, by Discord's rule shard = (guild_id >> 22) % shards.
    expect(guildIds.map((id) => shardOf(id, SHARD_COUNT))).toEqual([0, 1]);
    build();
    standIn = await DiscordStandIn.start({ guilds, shards: SHARD_COUNT });
    workDir = await mkdtemp(join(tmpdir(), 'banter-sharding-'));
    const configFile = join(workDir, 'bot.yaml');
    await writeFile(
      configFile,
      stringify({
        engine: { model: FIXTURE_MODEL },
        history: { store: 'memory://' },
        log: { level: 'warn' },
        // Discord only, and no `shards`: each process learns its shard from ShardingManager.
        adapters: { discord: { token: '${DISCORD_TOKEN}', api: standIn.api } },
      }),
    );
    manager = new ShardingManager(CLI, {
      token: standIn.token,
      totalShards: SHARD_COUNT,
      shardArgs: ['start', '--config', configFile],
      mode: 'process',
      respawn: false,
      execArgv: [],
      silent: true,
    });
    manager.on('shardCreate', (shard) => {
      output.set(shard.id, '');
      shard.on('spawn', (child) => {
        const append = (chunk: Buffer) => output.set(shard.id, output.get(shard.id) + chunk.toString());
        child.stdout?.on('data', append);
        child.stderr?.on('data', append);
      });
    });
    try {
      await manager.spawn({ amount: SHARD_COUNT, timeout: SPAWN_TIMEOUT_MS });
    } catch (error) {
      const logs = [...output].map(([id, text]) => `--- shard ${id} output ---\n${text.slice(-4000)}`).join('\n');
      throw new Error(`ShardingManager could not bring both shards up: ${String(error)}\n${logs}`, { cause: error });
    }
  }, SPAWN_TIMEOUT_MS * SHARD_COUNT + 60_000);

  afterAll(async () => {
    if (manager) await Promise.all([...manager.shards.values()].map(stopShard));
    await standIn?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    for (const name of MANAGER_ENV) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
  }, 60_000);

  it('runs each shard in its own process, which identifies as that shard and receives only its own guild', async () => {
    expect(standIn.identifies).toEqual([
      [0, SHARD_COUNT],
      [1, SHARD_COUNT],
    ]);
    const shards = await manager.broadcastEval((client) => ({ pid: process.pid, ids: client.shard?.ids ?? null, count: client.shard?.count ?? null, guilds: [...client.guilds.cache.keys()] }));
    expect(shards).toEqual([
      { pid: manager.shards.get(0)?.process?.pid, ids: [0], count: SHARD_COUNT, guilds: [guildIds[0]] },
      { pid: manager.shards.get(1)?.process?.pid, ids: [1], count: SHARD_COUNT, guilds: [guildIds[1]] },
    ]);
    expect(new Set([process.pid, ...shards.map((s) => s.pid)]).size).toBe(3);
    // Only the process running shard 0 registers the slash commands (it may still be at it).
    await standIn.waitFor('the slash command registration', () => standIn.commandRegistrations.length > 0);
    expect(standIn.commandRegistrations).toHaveLength(1);
  });

  it("answers each guild's mentions exactly once, from the process that runs that guild's shard", async () => {
    const first = [0, 1].map((shard) => ask(shard, `hello, shard ${shard}?`));
    await standIn.waitFor('a reply in both guilds', () => first.every((id) => repliesTo(id).length > 0), 120_000);
    // A second question per guild: each conversation answers in order, so once these are answered
    // a duplicate reply to the first questions would already have arrived.
    const second = [0, 1].map((shard) => ask(shard, `and again, shard ${shard}?`));
    await standIn.waitFor('the second replies', () => second.every((id) => repliesTo(id).length > 0), 120_000);

    for (const shard of [0, 1]) {
      const asked = [first[shard], second[shard]];
      expect(asked.map((id) => repliesTo(id).map((m) => m.channelId))).toEqual([[channelIds[shard]], [channelIds[shard]]]);
      // The gateway carried the questions to this shard's session only.
      expect(messagesSeenBy(shard)).toEqual(expect.arrayContaining(asked));
      for (const id of asked) expect(messagesSeenBy(1 - shard)).not.toContain(id);
    }
    expect(standIn.sent).toHaveLength(4);

    // Inside the shard processes: the questions and the replies sent for them are cached by the
    // process of the guild's shard; the other process never had that channel at all.
    const cached = await manager.broadcastEval(
      (client, { channels }) =>
        channels.map((id) => {
          const channel = client.channels.cache.get(id);
          return channel && 'messages' in channel ? [...channel.messages.cache.keys()] : null;
        }),
      { context: { channels: channelIds } },
    );
    for (const shard of [0, 1]) {
      const own = [first[shard], second[shard]].flatMap((id) => [id, ...repliesTo(id).map((m) => m.id)]);
      expect(cached[shard][shard]).toEqual(expect.arrayContaining(own));
      expect(cached[shard][1 - shard]).toBeNull();
    }
  }, 300_000);
});
