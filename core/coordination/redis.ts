/**
 * Coordination in Redis. A conversation's lock is `banter-lock:KEY` holding the fencing token,
 * taken from the counter `banter-fence:KEY` (INCR, never reset) in the same script, with a lease
 * renewed every third of `leaseMs` while the turn runs: a long turn keeps its lock (unlike a fixed
 * expiry, the Chat SDK's failure in vercel/chat#685), and a killed worker's lock frees itself one
 * lease later. Every history write of a turn is fenced on the counter (see HistoryStore.saveFenced).
 */
import type KeyvRedis from '@keyv/redis';
import type { Logger } from '../log.js';
import { connectRedis } from '../history/redis-store.js';
import { RedisAdmissionState } from './redis-admission.js';
import type { RedisScripts } from './redis-client.js';
import { LockWaitError, type Coordination, type CoordinationConfig, type TurnLock, type WriteFence } from './types.js';

const LOCK_PREFIX = 'banter-lock:';
const FENCE_PREFIX = 'banter-fence:';
const CLAIM_PREFIX = 'banter-claims:';
/** Polling for a lock another worker holds: from the first pause, doubling up to the last. */
const FIRST_POLL_MS = 20;
const MOST_POLL_MS = 250;

/** Takes the lock if it is free: returns the new token, or 0. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token`;

/** Extends our lease; one that lapsed is taken back if nobody took the lock since (the fence still ours). */
const RENEW = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not held and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

const GET = `return redis.call('GET', KEYS[1])`;

export async function openRedisCoordination(url: string, config: CoordinationConfig, logger: Logger): Promise<Coordination> {
  const { keyv, adapter } = await connectRedis(url, 'banter-coordination', 'coordination');
  const redis = (await (adapter as KeyvRedis<unknown>).getClient()) as unknown as RedisScripts;
  return new RedisCoordination(url, redis, config, logger, () => keyv.disconnect());
}

export class RedisCoordination implements Coordination {
  readonly admission: RedisAdmissionState;

  constructor(
    readonly url: string,
    private readonly redis: RedisScripts,
    private readonly config: CoordinationConfig,
    private readonly logger: Logger,
    private readonly disconnect: () => Promise<void>,
  ) {
    this.admission = new RedisAdmissionState(redis);
  }

  async lock(key: string): Promise<TurnLock> {
    const keys = [LOCK_PREFIX + key, FENCE_PREFIX + key];
    const lease = String(this.config.leaseMs);
    const started = Date.now();
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MOST_POLL_MS)) {
      const token = Number(await this.redis.eval(ACQUIRE, { keys, arguments: [lease] }));
      if (token > 0) return this.held(key, keys, token);
      if (Date.now() - started >= this.config.lockWaitMs) throw new LockWaitError(key, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  fence(lock: TurnLock): WriteFence {
    return { fenceKey: FENCE_PREFIX + lock.key, token: lock.token };
  }

  async claim(id: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(CLAIM_PREFIX + id, '1', { NX: true, PX: Math.max(1, Math.round(ttlMs)) })) === 'OK';
  }

  close(): Promise<void> {
    return this.disconnect();
  }

  private held(key: string, keys: string[], token: number): TurnLock {
    const args = [String(token), String(this.config.leaseMs)];
    let lost = false;
    const renew = setInterval(() => {
      this.redis.eval(RENEW, { keys, arguments: args }).then(
        (renewed) => {
          if (Number(renewed) === 1 || lost) return;
          lost = true;
          this.logger.warn({ conversation: key, token }, 'lost the conversation lock to another worker: this turn cannot write its history');
        },
        (error: unknown) => this.logger.warn({ err: error, conversation: key }, 'could not renew the conversation lock; retrying'),
      );
    }, Math.max(1, Math.floor(this.config.leaseMs / 3)));
    renew.unref();
    return {
      key,
      token,
      current: async () => String(await this.redis.eval(GET, { keys: [keys[1]], arguments: [] })) === String(token),
      release: async () => {
        clearInterval(renew);
        await this.redis.eval(RELEASE, { keys: [keys[0]], arguments: [String(token)] });
      },
    };
  }
}
