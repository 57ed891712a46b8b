/** Settings of the web chat adapter (where it listens and who may connect), declared once: type, defaults and schema. */
import { applyDefaults, publishedSchema, Type, type JSONSchema, type Static } from '../../core/index.js';
import { isLoopbackHost } from './access.js';

export const WebSection = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8787, description: 'TCP port; 0 picks a free one.' }),
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to bind (loopback by default).' }),
    accessToken: Type.Optional(
      Type.String({
        // Empty means none, so `${WEB_TOKEN:-}` makes the token optional; a set one must not be trivially short.
        pattern: '^(|.{8,})$',
        description: 'Optional access token (use ${ENV_VAR}); the page then needs ?token=. Empty: no token.',
      }),
    ),
    maxFrameBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'Largest WebSocket frame accepted, in bytes.' }),
    allowRemote: Type.Optional(Type.Boolean({ description: 'Accept non-loopback clients. Default: true only when host is not a loopback address.' })),
    maxBufferedBytes: Type.Integer({
      minimum: 16 * 1024,
      maximum: 256 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'Bytes of frames waiting for one client; a client that falls further behind is disconnected.',
    }),
    shareConversations: Type.Boolean({ default: false, description: 'Every client may read every conversation by id. Default: each client (browser) has its own.' }),
    stream: Type.Boolean({
      default: true,
      description: 'Show a one-candidate reply as it is written, sentence by sentence (each checked by the plugins first). Turns with several candidates show their progress instead.',
    }),
    maxSocketsPerAddress: Type.Integer({
      minimum: 0,
      default: 32,
      description: "Open WebSockets one remote address may hold; more are refused with 429. 0: no cap. (Messages are capped per user by the bot's admission settings.)",
    }),
  },
  { title: 'banter web chat adapter', additionalProperties: false },
);

/** The section as written: every field optional. */
export type WebConfig = Partial<Static<typeof WebSection>>;

/** The section with defaults applied, the token left out when empty and `allowRemote` decided. */
export type ResolvedWebConfig = Static<typeof WebSection> & { allowRemote: boolean };

export const configSchema: JSONSchema = publishedSchema(WebSection);

export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

/** Applies defaults; the core validates against `configSchema` first, this guards direct use (tests, embedding). */
export function resolveWebConfig(input: WebConfig | undefined): ResolvedWebConfig {
  const config = applyDefaults<Static<typeof WebSection>>(configSchema, input ?? {});
  const { port, maxFrameBytes, maxBufferedBytes, host, maxSocketsPerAddress } = config;
  // Values are not repeated in these messages: they may have come from the environment.
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WebConfigError('adapters.web.port must be an integer from 0 to 65535');
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1024) throw new WebConfigError('adapters.web.maxFrameBytes must be an integer of at least 1024');
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 16 * 1024) throw new WebConfigError('adapters.web.maxBufferedBytes must be an integer of at least 16384');
  if (!Number.isInteger(maxSocketsPerAddress) || maxSocketsPerAddress < 0) throw new WebConfigError('adapters.web.maxSocketsPerAddress must be a whole number (0: no cap)');
  const accessToken = config.accessToken === '' ? undefined : config.accessToken;
  if (accessToken !== undefined && accessToken.length < 8) {
    throw new WebConfigError('adapters.web.accessToken must be at least 8 characters; leave it empty for no token');
  }
  // Reachable by name from elsewhere, a page without a token is open to DNS rebinding and to the network.
  if (!isLoopbackHost(host) && accessToken === undefined) {
    throw new WebConfigError(
      `adapters.web.host is not a loopback address, so the chat needs an access token: set accessToken: \${BANTER_WEB_TOKEN} (8 characters or more) and BANTER_WEB_TOKEN in the environment`,
    );
  }
  return { ...config, accessToken, allowRemote: config.allowRemote ?? !isLoopbackHost(host) };
}
