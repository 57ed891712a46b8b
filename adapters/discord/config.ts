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
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, description: 'Shard ids this process runs; unset means all (or those `ShardingManager` assigns).' }),
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

/** Fills defaults (also when core's validation did not) and checks what the schema cannot. */
export function resolveDiscordConfig(raw: Partial<DiscordAdapterConfig>): DiscordAdapterConfig {
  const config = applyDefaults<DiscordAdapterConfig>(discordConfigSchema, { ...raw, token: raw.token ?? '' });
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
