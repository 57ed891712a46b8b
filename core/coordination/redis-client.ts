/** The little of the Redis client coordination uses, whatever @redis/client's connection type (client, cluster, sentinel). */
export interface RedisScripts {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}
