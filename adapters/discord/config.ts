/** The Discord adapter's config, declared once: its type, defaults and JSON Schema (validated by core with ajv). */
import { PermissionFlagsBits } from 'discord.js';
import { applyDefaults, Enum, idFilterSchema, publishedSchema, Type, type IdFilter, type JSONSchema, type Static } from '../../core/index.js';

const ids = { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,20}$' } };
const idList = (description: string) => Type.Unsafe<string[]>({ ...ids, default: [], description });
const idFilter = (description: string) => Type.Unsafe<IdFilter>({ ...idFilterSchema(ids), description });
const PERMISSIONS = Object.keys(PermissionFlagsBits) as (keyof typeof PermissionFlagsBits)[];

export const DiscordSection = Type.Object(
  {
    token: Type.String({ minLength: 1, description: 'Bot token: write "${DISCORD_TOKEN}" (secrets come only from the environment).' }),
    dms: Type.Boolean({ default: true, description: 'Answer direct messages.' }),
    adminPermission: Enum(PERMISSIONS, { default: 'ManageGuild', description: 'A Discord permission (a `PermissionFlagsBits` name) that makes a member an admin.' }),
    adminRoles: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Role ids or names whose members are admins.' }),
    adminUsers: idList('User ids that are admins everywhere, DMs included.'),
    guilds: idFilter('Guild ids to answer in (empty: all) and never to answer in.'),
    channels: idFilter('Channel ids; a thread is matched by its own id and by its parent channel\'s id.'),
    registerCommands: Type.Boolean({ default: true, description: 'Register the command table as slash commands at startup.' }),
    commandGuilds: idList('Register slash commands in these guilds only (they appear at once) instead of globally.'),
    typingIntervalMs: Type.Integer({
      minimum: 1000,
      maximum: 9500,
      default: 8_000,
      description: 'How often the typing indicator is renewed while a message waits for its turn or is answered (Discord shows it ~10 s).',
    }),
    feedback: Type.Boolean({ default: true, description: '👍/👎 buttons under rateable replies (a 👎 asks why in a short form).' }),
    stream: Type.Boolean({ default: true, description: 'Post a one-candidate reply as it is written and edit it as it grows.' }),
    streamEditIntervalMs: Type.Integer({
      minimum: 250,
      default: 1_200,
      description: 'Least time between two writes of a streamed message; keep it at 1000 or more on Discord (about five edits per five seconds per channel).',
    }),
    shards: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, description: 'Shard ids this process runs; unset: `DISCORD_SHARD_IDS` (with `DISCORD_SHARD_COUNT`) from the environment, else all (or those `ShardingManager` assigns).' }),
    ),
    shardCount: Type.Optional(Type.Integer({ minimum: 1, description: 'Total shards across all processes; needed with `shards`.' })),
    api: Type.String({ format: 'uri', default: 'https://discord.com/api', description: 'REST API base URL: only for proxies and local stand-ins.' }),
  },
  {
    $id: 'https://banter.dev/schemas/adapters/discord.json',
    title: 'Discord adapter',
    additionalProperties: false,
    dependentRequired: { shards: ['shardCount'] },
  },
);

export type DiscordAdapterConfig = Static<typeof DiscordSection>;

export const discordConfigSchema: JSONSchema = publishedSchema(DiscordSection);

export class DiscordConfigError extends Error {
  constructor(message: string) {
    super(`adapters.discord: ${message}`);
    this.name = 'DiscordConfigError';
  }
}

/**
 * Shards of this process from the environment, for N processes on M machines from one config:
 * `DISCORD_SHARD_IDS` (`3`, `0,2` or `4-7`) and `DISCORD_SHARD_COUNT` (the total over all processes).
 */
export function shardsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Pick<DiscordAdapterConfig, 'shards' | 'shardCount'> {
  const ids = env.DISCORD_SHARD_IDS?.trim();
  const count = env.DISCORD_SHARD_COUNT?.trim();
  if (!ids && !count) return {};
  if (!ids || !count) throw new DiscordConfigError('set both DISCORD_SHARD_IDS (this process\'s shards, e.g. 0,1 or 0-3) and DISCORD_SHARD_COUNT (the total), or neither.');
  const shardCount = Number(count);
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new DiscordConfigError(`DISCORD_SHARD_COUNT must be a positive integer, got ${JSON.stringify(count)}.`);
  const shards: number[] = [];
  for (const part of ids.split(',').map((piece) => piece.trim())) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) throw new DiscordConfigError(`DISCORD_SHARD_IDS must list shard ids like 0,2 or 0-3, got ${JSON.stringify(ids)}.`);
    const [first, last] = [Number(range[1]), Number(range[2] ?? range[1])];
    for (let id = first; id <= last; id++) if (!shards.includes(id)) shards.push(id);
  }
  return { shards, shardCount };
}

/** Fills defaults (also when core's validation did not), shards from the environment when the config names none, and checks what the schema cannot. */
export function resolveDiscordConfig(raw: Partial<DiscordAdapterConfig>, env: NodeJS.ProcessEnv = process.env): DiscordAdapterConfig {
  const config = applyDefaults<DiscordAdapterConfig>(discordConfigSchema, { ...(raw.shards ? {} : shardsFromEnvironment(env)), ...raw, token: raw.token ?? '' });
  if (!config.token || /^\$\{\w+\}$/.test(config.token)) {
    throw new DiscordConfigError('no bot token. Set the DISCORD_TOKEN environment variable and write token: "${DISCORD_TOKEN}" in the config.');
  }
  if (!(config.adminPermission in PermissionFlagsBits)) {
    throw new DiscordConfigError(`adminPermission "${config.adminPermission}" is not a Discord permission (e.g. ManageGuild, Administrator).`);
  }
  if (config.shards && (config.shardCount === undefined || config.shards.some((id) => id >= config.shardCount!))) {
    throw new DiscordConfigError(`shards ${JSON.stringify(config.shards)} need a shardCount greater than every shard id.`);
  }
  return config;
}
