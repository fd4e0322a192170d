import { Redis } from 'ioredis'
import type { BenchConfig } from './config.js'

export function createRedis(config: BenchConfig, options: { autoPipelining?: boolean } = {}): Redis {
  return new Redis(config.redisUrl, { enableAutoPipelining: options.autoPipelining ?? false, maxRetriesPerRequest: 3 })
}

/** `bench:<runId>:<name>`: every key this run writes lives under this prefix. */
export function streamName(config: BenchConfig, name: string): string {
  return `bench:${config.runId}:${name}`
}

/** Deletes every key of this run (SCAN, never FLUSHALL: the server is shared). */
export async function deleteRunKeys(redis: Redis, config: BenchConfig): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `bench:${config.runId}:*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.del(...keys)
  } while (cursor !== '0')
}
