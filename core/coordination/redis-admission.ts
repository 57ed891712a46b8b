/**
 * Admission counts in Redis, so that queue caps and rate limits hold across every worker: counters
 * by INCRBY + PEXPIRE, token buckets by one Lua script on the server's clock (workers' clocks may
 * disagree). Both run as one script each, so two workers never interleave inside an operation.
 */
import type { AdmissionState } from '../admission/index.js';
import type { RedisScripts } from './redis-client.js';

/** Adds the delta; at or below zero the counter goes (as in memory), else it lives ttl after its last change. */
const ADD = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return value`;

/** Refills by elapsed time (server clock, ms), takes one token if there is one; the key expires once full again. */
const TAKE = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / per_ms)))
return taken`;

export class RedisAdmissionState implements AdmissionState {
  constructor(
    private readonly redis: RedisScripts,
    private readonly prefix = 'banter-admission:',
  ) {}

  async add(key: string, delta: number, ttlMs: number): Promise<number> {
    return Number(await this.redis.eval(ADD, { keys: [this.prefix + key], arguments: [String(Math.trunc(delta)), String(Math.max(1, Math.round(ttlMs)))] }));
  }

  async take(key: string, capacity: number, perSecond: number): Promise<boolean> {
    return Number(await this.redis.eval(TAKE, { keys: [this.prefix + key], arguments: [String(capacity), String(perSecond)] })) === 1;
  }
}
