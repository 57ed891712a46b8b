export { FencedWriteError, LockWaitError, type Coordination, type CoordinationConfig, type TurnLock, type WriteFence } from './types.js';
export { openRedisCoordination } from './redis.js';
export { RedisAdmissionState } from './redis-admission.js';
