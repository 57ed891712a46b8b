/**
 * `redis://HOST:PORT[/DB]` through @keyv/redis: conversations under `banter:KEY`, claims under
 * `banter-claims:ID` with Redis's own expiry (SET NX PX), so every process sharing the server
 * sees them. A save resolves once the server acknowledged it.
 */
import { Keyv } from 'keyv';
import KeyvRedis, { createKeyv } from '@keyv/redis';
import type { WriteFence } from '../coordination/types.js';
import type { Conversation } from '../types.js';
import { checkConversation, HISTORY_NAMESPACE, InFlight, redactUrl } from './common.js';
import type { HistoryStore } from './store.js';

const REDIS_CONNECT_TIMEOUT_MS = 5000;
const REDIS_START_ATTEMPTS = 3;
const CLAIM_PREFIX = `${HISTORY_NAMESPACE}-claims:`;
/** Writes the conversation only while the fence counter still holds this turn's token. */
const FENCED_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

export async function openRedisStore(url: string): Promise<HistoryStore> {
  const { keyv, adapter } = await connectRedis(url, HISTORY_NAMESPACE, 'history');
  return new RedisHistoryStore(keyv as Keyv<Conversation>, adapter);
}

/**
 * A Keyv on the Redis server at `url`, keys under `NAMESPACE:`, connected before it returns: a
 * server that is not there at start fails fast (a config mistake); once connected, restarts of
 * the server are ridden out with retries.
 */
export async function connectRedis(url: string, namespace: string, what: string): Promise<{ keyv: Keyv<unknown>; adapter: KeyvRedis<unknown> }> {
  let connected = false;
  const keyv = createKeyv(
    {
      url,
      socket: {
        reconnectStrategy: (retries: number, cause: Error) => (!connected && retries >= REDIS_START_ATTEMPTS ? cause : Math.min(2 ** retries * 100, 2000)),
      },
    },
    { namespace, keyPrefixSeparator: ':', throwOnErrors: true, connectionTimeout: REDIS_CONNECT_TIMEOUT_MS },
  );
  const adapter = keyv.store as KeyvRedis<unknown>;
  // The adapter replaces the socket's error with a generic one; keep the socket's for the message.
  let socketError: Error | undefined;
  const remember = (error: Error) => (socketError = error);
  adapter.on('error', remember);
  try {
    await adapter.getClient();
  } catch (error) {
    const reason = socketError?.message || (error as Error).message;
    throw new Error(`cannot connect to the ${what} store ${redactUrl(url)}: ${reason}`, { cause: socketError ?? error });
  } finally {
    adapter.off('error', remember);
  }
  connected = true;
  return { keyv, adapter };
}

class RedisHistoryStore implements HistoryStore {
  private readonly inFlight = new InFlight();

  constructor(
    private readonly keyv: Keyv<Conversation>,
    private readonly adapter: KeyvRedis<unknown>,
  ) {}

  load(key: string): Promise<Conversation | undefined> {
    return this.inFlight.run(async () => {
      const value = await this.keyv.get(key);
      return value === undefined ? undefined : checkConversation(value, key);
    });
  }

  save(conversation: Conversation): Promise<void> {
    return this.inFlight.run(async () => void (await this.keyv.set(conversation.key, conversation)));
  }

  saveFenced(conversation: Conversation, fence: WriteFence): Promise<boolean> {
    return this.inFlight.run(async () => {
      const client = await this.adapter.getClient();
      // The value exactly as keyv writes it, so load() reads it back.
      const value = await this.keyv.serialize!({ value: conversation });
      const keys = [fence.fenceKey, `${HISTORY_NAMESPACE}:${conversation.key}`];
      return Number(await client.eval(FENCED_SET, { keys, arguments: [String(fence.token), String(value)] })) === 1;
    });
  }

  delete(key: string): Promise<void> {
    return this.inFlight.run(async () => void (await this.keyv.delete(key)));
  }

  claim(id: string, ttlMs: number): Promise<boolean> {
    return this.inFlight.run(async () => {
      const client = await this.adapter.getClient();
      const set = await client.set(`${CLAIM_PREFIX}${id}`, '1', { NX: true, PX: Math.max(1, Math.round(ttlMs)) });
      return set === 'OK';
    });
  }

  async close(): Promise<void> {
    if (await this.inFlight.close()) await this.keyv.disconnect();
  }
}
