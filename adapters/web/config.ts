/** Settings of the web chat adapter: where it listens and who may connect. */
import type { JSONSchema } from '../../core/index.js';
import { isLoopbackHost } from './access.js';

export interface WebConfig {
  /** TCP port; 0 picks any free port (tests). */
  port?: number;
  /** Interface to bind. Loopback by default: the chat is for the person at this machine. */
  host?: string;
  /** When set, the page needs `?token=` and the WebSocket upgrade checks it. Comes from `${ENV}`. */
  accessToken?: string;
  /** Largest WebSocket frame accepted; bigger frames close the connection with code 1009. */
  maxFrameBytes?: number;
  /** Accept clients from other machines. Defaults to true only when `host` is not a loopback address. */
  allowRemote?: boolean;
  /** Frames waiting to reach one client, in bytes; a client that falls further behind is disconnected. */
  maxBufferedBytes?: number;
  /** Let every client read every conversation by its id (one shared set); default: each client its own. */
  shareConversations?: boolean;
  /** Show one-candidate replies as they are written (sentence by sentence, each checked first). */
  stream?: boolean;
  /** Open WebSockets one remote address may hold; more are refused (429). 0: no cap. */
  maxSocketsPerAddress?: number;
}

export interface ResolvedWebConfig {
  port: number;
  host: string;
  accessToken?: string;
  maxFrameBytes: number;
  allowRemote: boolean;
  maxBufferedBytes: number;
  shareConversations: boolean;
  stream: boolean;
  maxSocketsPerAddress: number;
}

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_MAX_SOCKETS_PER_ADDRESS = 32;

export const configSchema: JSONSchema = {
  title: 'banter web chat adapter',
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_PORT, description: 'TCP port; 0 picks a free one.' },
    host: { type: 'string', minLength: 1, default: DEFAULT_HOST, description: 'Interface to bind (loopback by default).' },
    accessToken: {
      type: 'string',
      // Empty means none, so `${WEB_TOKEN:-}` makes the token optional; a set one must not be trivially short.
      pattern: '^(|.{8,})$',
      description: 'Optional access token (use ${ENV_VAR}); the page then needs ?token=. Empty: no token.',
    },
    maxFrameBytes: {
      type: 'integer',
      minimum: 1024,
      maximum: 16 * 1024 * 1024,
      default: DEFAULT_MAX_FRAME_BYTES,
      description: 'Largest WebSocket frame accepted, in bytes.',
    },
    allowRemote: {
      type: 'boolean',
      description: 'Accept non-loopback clients. Default: true only when host is not a loopback address.',
    },
    maxBufferedBytes: {
      type: 'integer',
      minimum: 16 * 1024,
      maximum: 256 * 1024 * 1024,
      default: DEFAULT_MAX_BUFFERED_BYTES,
      description: 'Bytes of frames waiting for one client; a client that falls further behind is disconnected.',
    },
    shareConversations: {
      type: 'boolean',
      default: false,
      description: 'Every client may read every conversation by id. Default: each client (browser) has its own.',
    },
    stream: {
      type: 'boolean',
      default: true,
      description: 'Show a one-candidate reply as it is written, sentence by sentence (each checked by the plugins first). Turns with several candidates show their progress instead.',
    },
    maxSocketsPerAddress: {
      type: 'integer',
      minimum: 0,
      default: DEFAULT_MAX_SOCKETS_PER_ADDRESS,
      description: 'Open WebSockets one remote address may hold; more are refused with 429. 0: no cap. (Messages are capped per user by the bot\'s admission settings.)',
    },
  },
};

export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

/** Applies defaults; the core validates against `configSchema` first, this guards direct use (tests, embedding). */
export function resolveWebConfig(input: WebConfig | undefined): ResolvedWebConfig {
  const config = input ?? {};
  const port = config.port ?? DEFAULT_PORT;
  // Values are not repeated in these messages: they may have come from the environment.
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WebConfigError('adapters.web.port must be an integer from 0 to 65535');
  const maxFrameBytes = config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1024) throw new WebConfigError('adapters.web.maxFrameBytes must be an integer of at least 1024');
  const maxBufferedBytes = config.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 16 * 1024) throw new WebConfigError('adapters.web.maxBufferedBytes must be an integer of at least 16384');
  const accessToken = config.accessToken === '' ? undefined : config.accessToken;
  if (accessToken !== undefined && accessToken.length < 8) {
    throw new WebConfigError('adapters.web.accessToken must be at least 8 characters; leave it empty for no token');
  }
  const maxSocketsPerAddress = config.maxSocketsPerAddress ?? DEFAULT_MAX_SOCKETS_PER_ADDRESS;
  if (!Number.isInteger(maxSocketsPerAddress) || maxSocketsPerAddress < 0) throw new WebConfigError('adapters.web.maxSocketsPerAddress must be a whole number (0: no cap)');
  const host = config.host ?? DEFAULT_HOST;
  // Reachable by name from elsewhere, a page without a token is open to DNS rebinding and to the network.
  if (!isLoopbackHost(host) && accessToken === undefined) {
    throw new WebConfigError(
      `adapters.web.host is not a loopback address, so the chat needs an access token: set accessToken: \${BANTER_WEB_TOKEN} (8 characters or more) and BANTER_WEB_TOKEN in the environment`,
    );
  }
  return {
    port,
    host,
    accessToken,
    maxFrameBytes,
    allowRemote: config.allowRemote ?? !isLoopbackHost(host),
    maxBufferedBytes,
    shareConversations: config.shareConversations ?? false,
    stream: config.stream ?? true,
    maxSocketsPerAddress,
  };
}
