import type { Logger, OutboxMessage } from '@txbox/core'
import { type ConsumeRedisStreamOptions, consumeRedisStream, type RedisStreamConsumer, redisStreamsPublisher } from '@txbox/redis'
import { uniqueName } from '@txbox/testing'
import type { Redis } from 'ioredis'
import { expect } from 'vitest'
import { deleteKeys, testRedis } from './redis-test-keys.js'

/** One log call a test can look at. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly message: string
  readonly fields: Record<string, unknown>
}

/** A logger that records every call (and writes nothing). */
export function recordingLogger(): Logger & { readonly lines: LogLine[]; find(message: string | RegExp): LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields })
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    find: (message) => lines.filter((l) => (typeof message === 'string' ? l.message === message : message.test(l.message))),
  }
}

/** A promise a test opens when it wants a held handler to finish. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

/**
 * The shared Redis, a key prefix of the file's own, and the consumers the file
 * started (stopped by `stopConsumers`, keys deleted by `close`).
 */
export function consumerFixture(name: string) {
  const redis: Redis = testRedis()
  const prefix = `${uniqueName(name)}:`
  const consumers: RedisStreamConsumer[] = []
  // Short timings keep the files quick; the defaults are seconds.
  const fast = { blockMs: 100, claimIdleMs: 200 }

  return {
    redis,
    prefix,
    fast,
    async consume<T = unknown>(options: Omit<ConsumeRedisStreamOptions<T>, 'redis'> & { redis?: ConsumeRedisStreamOptions<T>['redis'] }): Promise<RedisStreamConsumer> {
      const consumer = await consumeRedisStream<T>({ redis, ...fast, ...options })
      consumers.push(consumer)
      return consumer
    },
    async publish(stream: string, messages: OutboxMessage[]): Promise<void> {
      const results = await redisStreamsPublisher({ redis, stream }).publish(messages, { signal: new AbortController().signal })
      expect(results.every((r) => r.ok)).toBe(true)
    },
    /** How many entries of the group are pending (read, not acknowledged). */
    async pending(stream: string, group: string): Promise<number> {
      return Number(((await redis.xpending(stream, group)) as [number])[0])
    },
    /** Each pending entry of the group: id, owner, delivery count. */
    async pendingEntries(stream: string, group: string): Promise<{ id: string; consumer: string; deliveries: number }[]> {
      const rows = (await redis.xpending(stream, group, '-', '+', 1000)) as [string, string, number, number][]
      return rows.map(([id, consumer, , deliveries]) => ({ id, consumer, deliveries }))
    },
    async stopConsumers(): Promise<void> {
      await Promise.all(consumers.splice(0).map((c) => c.stop()))
    },
    async close(): Promise<void> {
      await deleteKeys(redis, prefix)
      await redis.quit()
    },
  }
}
