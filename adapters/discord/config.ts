/** The Discord adapter's config: its JSON Schema (validated by core with ajv) and typed defaults. */
import { PermissionFlagsBits } from 'discord.js';
import { idFilterSchema, type IdFilter, type JSONSchema } from '../../core/index.js';

export interface DiscordAdapterConfig {
  /** Bot token. Write `${DISCORD_TOKEN}` in the config file: secrets only come from the environment. */
  token: string;
  /** Answer direct messages. */
  dms: boolean;
  /** A Discord permission (a `PermissionFlagsBits` name) that makes a member an admin. */
  adminPermission: keyof typeof PermissionFlagsBits;
  /** Role ids or names whose members are admins. */
  adminRoles: string[];
  /** User ids that are admins everywhere, DMs included. */
  adminUsers: string[];
  guilds: IdFilter;
  /** Channel ids; a thread is matched by its own id and by its parent channel's id. */
  channels: IdFilter;
  /** Register the command table as slash commands at startup. */
  registerCommands: boolean;
  /** Register slash commands in these guilds only (they appear at once) instead of globally. */
  commandGuilds: string[];
  /** How often the typing indicator is renewed while a reply is generated (Discord shows it ~10 s). */
  typingIntervalMs: number;
  /** 👍/👎 buttons under replies the bot records feedback for. */
  feedback: boolean;
  /** Post a one-candidate reply as it is written and edit it as it grows (sentence by sentence). */
  stream: boolean;
  /** Least time between two writes of a streamed message (Discord allows about five edits per five seconds in a channel). */
  streamEditIntervalMs: number;
  /** Shard ids this process runs; unset means all (or those `ShardingManager` assigns). */
  shards?: number[];
  /** Total shards across all processes; needed with `shards`. */
  shardCount?: number;
  /** REST API base URL: only for proxies and local stand-ins. */
  api: string;
}

export const DISCORD_DEFAULTS = {
  dms: true,
  adminPermission: 'ManageGuild',
  adminRoles: [],
  adminUsers: [],
  guilds: { allow: [], deny: [] },
  channels: { allow: [], deny: [] },
  registerCommands: true,
  commandGuilds: [],
  typingIntervalMs: 8_000,
  feedback: true,
  stream: true,
  streamEditIntervalMs: 1_200,
  api: 'https://discord.com/api',
} satisfies Omit<DiscordAdapterConfig, 'token'>;

const ids = { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,20}$' } };
const idFilter = idFilterSchema(ids);

export const discordConfigSchema: JSONSchema = {
  $id: 'https://banter.dev/schemas/adapters/discord.json',
  title: 'Discord adapter',
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: {
    token: { type: 'string', minLength: 1, description: 'Bot token: write "${DISCORD_TOKEN}" (secrets come only from the environment).' },
    dms: { type: 'boolean', default: DISCORD_DEFAULTS.dms },
    adminPermission: { type: 'string', enum: Object.keys(PermissionFlagsBits), default: DISCORD_DEFAULTS.adminPermission },
    adminRoles: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Role ids or names.' },
    adminUsers: ids,
    guilds: idFilter,
    channels: idFilter,
    registerCommands: { type: 'boolean', default: DISCORD_DEFAULTS.registerCommands },
    commandGuilds: ids,
    typingIntervalMs: { type: 'integer', minimum: 1000, maximum: 9500, default: DISCORD_DEFAULTS.typingIntervalMs },
    feedback: { type: 'boolean', default: DISCORD_DEFAULTS.feedback, description: '👍/👎 buttons under rateable replies (a 👎 asks why in a short form).' },
    stream: { type: 'boolean', default: DISCORD_DEFAULTS.stream, description: 'Post a one-candidate reply as it is written and edit it as it grows.' },
    streamEditIntervalMs: {
      type: 'integer',
      minimum: 250,
      default: DISCORD_DEFAULTS.streamEditIntervalMs,
      description: 'Least time between two writes of a streamed message; keep it at 1000 or more on Discord (about five edits per five seconds per channel).',
    },
    shards: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
    shardCount: { type: 'integer', minimum: 1 },
    api: { type: 'string', format: 'uri', default: DISCORD_DEFAULTS.api },
  },
  dependentRequired: { shards: ['shardCount'] },
};

export class DiscordConfigError extends Error {
  constructor(message: string) {
    super(`adapters.discord: ${message}`);
    this.name = 'DiscordConfigError';
  }
}

/** Fills defaults (also when core's validation did not) and checks what the schema cannot. */
export function resolveDiscordConfig(raw: Partial<DiscordAdapterConfig>): DiscordAdapterConfig {
  const config: DiscordAdapterConfig = {
    ...DISCORD_DEFAULTS,
    ...raw,
    token: raw.token ?? '',
    guilds: { ...DISCORD_DEFAULTS.guilds, ...raw.guilds },
    channels: { ...DISCORD_DEFAULTS.channels, ...raw.channels },
  };
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
