/** The Slack adapter's config, declared once: its type, defaults and JSON Schema (validated by core with ajv). */
import { applyDefaults, Enum, idFilterSchema, publishedSchema, Type, type IdFilter, type JSONSchema, type Static } from '../../core/index.js';

const ids = { type: 'array', items: { type: 'string', pattern: '^[A-Z0-9]+$' } };

export const SlackSection = Type.Object(
  {
    mode: Enum(['http', 'socket'], {
      default: 'http',
      description: '`http`: Slack POSTs events to this process (Events API). `socket`: this process dials Slack (Socket Mode).',
    }),
    botToken: Type.String({ minLength: 1, description: 'Write "${SLACK_BOT_TOKEN}".' }),
    // Either may be empty (`\${SLACK_APP_TOKEN:-}`): the mode in use decides which is needed, checked on start.
    signingSecret: Type.Optional(Type.String({ description: 'Write "${SLACK_SIGNING_SECRET}" (http mode).' })),
    appToken: Type.Optional(Type.String({ description: 'Write "${SLACK_APP_TOKEN}" (socket mode).' })),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'Where the http receiver listens.' }),
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    path: Type.String({ pattern: '^/', default: '/slack/events', description: 'The Request URL path configured in the Slack app (events and slash commands).' }),
    dms: Type.Boolean({ default: true, description: 'Answer direct messages.' }),
    adminUsers: Type.Unsafe<string[]>({ ...ids, default: [], description: 'Slack user ids allowed to run admin commands.' }),
    channels: Type.Unsafe<IdFilter>(idFilterSchema(ids)),
    commandPrefix: Type.String({
      pattern: '^[a-z0-9_-]*$',
      default: '',
      description: 'Prepended to slash command names (`banter-` registers `/banter-reset`) to avoid clashes with other apps.',
    }),
    thinking: Type.String({ minLength: 1, default: '_thinking…_', description: 'The placeholder posted at once and replaced by the reply (Slack has no typing indicator for bots).' }),
    feedback: Type.Boolean({ default: true, description: "Slack's feedback buttons under rateable replies (a 👎 asks why in a modal)." }),
    stream: Enum(['edit', 'native', 'off'], {
      default: 'edit',
      description: 'Show a one-candidate reply as it is written: edit the placeholder (edit), Slack\'s streaming methods in threads (native; the app needs its AI features on), or not (off).',
    }),
    streamIntervalMs: Type.Integer({ minimum: 250, default: 1_000, description: 'Least time between two writes of a streamed reply.' }),
    apiUrl: Type.Optional(Type.String({ format: 'uri', pattern: '/$', description: 'Web API base URL, ending in `/`: only for proxies and local stand-ins.' })),
  },
  { $id: 'https://banter.dev/schemas/adapters/slack.json', title: 'Slack adapter', additionalProperties: false },
);

export type SlackAdapterConfig = Static<typeof SlackSection>;

export const slackConfigSchema: JSONSchema = publishedSchema(SlackSection);

export class SlackConfigError extends Error {
  constructor(message: string) {
    super(`adapters.slack: ${message}`);
    this.name = 'SlackConfigError';
  }
}

/** Fills defaults (also when core's validation did not) and names the missing secret's variable. */
export function resolveSlackConfig(raw: Partial<SlackAdapterConfig>): SlackAdapterConfig {
  const config = applyDefaults<SlackAdapterConfig>(slackConfigSchema, { ...raw, botToken: raw.botToken ?? '' });
  const missing = (value: string | undefined) => !value || /^\$\{\w+\}$/.test(value);
  if (missing(config.botToken)) throw new SlackConfigError('no bot token. Set SLACK_BOT_TOKEN and write botToken: "${SLACK_BOT_TOKEN}".');
  if (config.mode === 'http' && missing(config.signingSecret)) {
    throw new SlackConfigError('http mode verifies requests with the signing secret. Set SLACK_SIGNING_SECRET and write signingSecret: "${SLACK_SIGNING_SECRET}".');
  }
  if (config.mode === 'socket' && missing(config.appToken)) {
    throw new SlackConfigError('socket mode needs an app-level token. Set SLACK_APP_TOKEN and write appToken: "${SLACK_APP_TOKEN}".');
  }
  return config;
}
