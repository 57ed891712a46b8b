/** The Slack adapter's config: its JSON Schema (validated by core with ajv) and typed defaults. */
import { idFilterSchema, type IdFilter, type JSONSchema } from '../../core/index.js';

export interface SlackAdapterConfig {
  /** `http`: Slack POSTs events to this process (Events API). `socket`: this process dials Slack (Socket Mode). */
  mode: 'http' | 'socket';
  /** Bot token (xoxb-...): write `${SLACK_BOT_TOKEN}`. */
  botToken: string;
  /** Request signing secret, http mode: write `${SLACK_SIGNING_SECRET}`. */
  signingSecret?: string;
  /** App-level token (xapp-...) with connections:write, socket mode: write `${SLACK_APP_TOKEN}`. */
  appToken?: string;
  /** Where the http receiver listens. */
  port: number;
  host: string;
  /** The Request URL path configured in the Slack app (events and slash commands). */
  path: string;
  /** Answer direct messages. */
  dms: boolean;
  /** Slack user ids allowed to run admin commands. */
  adminUsers: string[];
  /** Channel ids: an empty allow-list allows all; deny wins. */
  channels: IdFilter;
  /** Prepended to slash command names (`banter-` registers `/banter-reset`) to avoid clashes with other apps. */
  commandPrefix: string;
  /** The placeholder posted at once and replaced by the reply (Slack has no typing indicator for bots). */
  thinking: string;
  /** Slack's feedback buttons under rateable replies (a 👎 opens a modal that asks why). */
  feedback: boolean;
  /**
   * How a one-candidate reply is shown as it is written: `edit` replaces the placeholder as the reply
   * grows; `native` uses Slack's streaming methods (chat.startStream, for apps with the AI features
   * on) in threads, and `edit` elsewhere; `off` shows the finished reply only.
   */
  stream: 'edit' | 'native' | 'off';
  /** Least time between two writes of a streamed reply (Slack allows about one update per second per message). */
  streamIntervalMs: number;
  /** Web API base URL, ending in `/`: only for proxies and local stand-ins. */
  apiUrl?: string;
}

export const SLACK_DEFAULTS = {
  mode: 'http',
  port: 3000,
  host: '0.0.0.0',
  path: '/slack/events',
  dms: true,
  adminUsers: [],
  channels: { allow: [], deny: [] },
  commandPrefix: '',
  thinking: '_thinking…_',
  feedback: true,
  stream: 'edit',
  streamIntervalMs: 1_000,
} satisfies Omit<SlackAdapterConfig, 'botToken'>;

const ids = { type: 'array', items: { type: 'string', pattern: '^[A-Z0-9]+$' } };

export const slackConfigSchema: JSONSchema = {
  $id: 'https://banter.dev/schemas/adapters/slack.json',
  title: 'Slack adapter',
  type: 'object',
  additionalProperties: false,
  required: ['botToken'],
  properties: {
    mode: { enum: ['http', 'socket'], default: SLACK_DEFAULTS.mode },
    botToken: { type: 'string', minLength: 1, description: 'Write "${SLACK_BOT_TOKEN}".' },
    // Either may be empty (`\${SLACK_APP_TOKEN:-}`): the mode in use decides which is needed, checked on start.
    signingSecret: { type: 'string', description: 'Write "${SLACK_SIGNING_SECRET}" (http mode).' },
    appToken: { type: 'string', description: 'Write "${SLACK_APP_TOKEN}" (socket mode).' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: SLACK_DEFAULTS.port },
    host: { type: 'string', minLength: 1, default: SLACK_DEFAULTS.host },
    path: { type: 'string', pattern: '^/', default: SLACK_DEFAULTS.path },
    dms: { type: 'boolean', default: SLACK_DEFAULTS.dms },
    adminUsers: ids,
    channels: idFilterSchema(ids),
    commandPrefix: { type: 'string', pattern: '^[a-z0-9_-]*$', default: SLACK_DEFAULTS.commandPrefix },
    thinking: { type: 'string', minLength: 1, default: SLACK_DEFAULTS.thinking },
    feedback: { type: 'boolean', default: SLACK_DEFAULTS.feedback, description: "Slack's feedback buttons under rateable replies (a 👎 asks why in a modal)." },
    stream: {
      enum: ['edit', 'native', 'off'],
      default: SLACK_DEFAULTS.stream,
      description: 'Show a one-candidate reply as it is written: edit the placeholder (edit), Slack\'s streaming methods in threads (native; the app needs its AI features on), or not (off).',
    },
    streamIntervalMs: { type: 'integer', minimum: 250, default: SLACK_DEFAULTS.streamIntervalMs, description: 'Least time between two writes of a streamed reply.' },
    apiUrl: { type: 'string', format: 'uri', pattern: '/$' },
  },
};

export class SlackConfigError extends Error {
  constructor(message: string) {
    super(`adapters.slack: ${message}`);
    this.name = 'SlackConfigError';
  }
}

/** Fills defaults (also when core's validation did not) and names the missing secret's variable. */
export function resolveSlackConfig(raw: Partial<SlackAdapterConfig>): SlackAdapterConfig {
  const config: SlackAdapterConfig = {
    ...SLACK_DEFAULTS,
    ...raw,
    botToken: raw.botToken ?? '',
    channels: { ...SLACK_DEFAULTS.channels, ...raw.channels },
  };
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
