import { redisStreamsPublisher } from '@txbox/redis'
import type { Redis } from 'ioredis'
import type { BenchConfig } from '../../support/config.js'
import { createRedis, deleteRunKeys, streamName } from '../../support/redis.js'
import type { BareRow, Destination } from '../destination.js'

/**
 * Redis Streams: one stream per round (the topic), one XADD per message,
 * counted with XLEN. `ownsRunKeys: false` (a child process sending into the
 * parent's streams) leaves the run's keys alone on close.
 */
export async function redisStreams(config: BenchConfig, options: { readonly ownsRunKeys?: boolean } = {}): Promise<Destination> {
  const admin = createRedis(config)
  // The bare loop's and the peers' client; ioredis sends concurrent commands on one connection.
  const sender = createRedis(config, { autoPipelining: true })
  const clients: Redis[] = [admin, sender]
  return {
    name: 'Redis Streams',
    notes: 'Redis: a stream per round; bare loop and peers send one XADD per message (fields messageId, topic, payload, key), the bare loop as one pipeline per batch, over an auto-pipelining ioredis client; txbox: redisStreamsPublisher({ redis }) (one EVAL per batch).',
    topic: (label) => streamName(config, `drain-${label}`),
    async publisher() {
      const redis = createRedis(config)
      clients.push(redis)
      return redisStreamsPublisher({ redis })
    },
    async send(rows: readonly BareRow[]) {
      const pipeline = sender.pipeline()
      for (const r of rows) {
        if (r.key === null) pipeline.xadd(r.topic, '*', 'messageId', r.message_id, 'topic', r.topic, 'payload', r.payload)
        else pipeline.xadd(r.topic, '*', 'messageId', r.message_id, 'topic', r.topic, 'payload', r.payload, 'key', r.key)
      }
      const replies = await pipeline.exec()
      const failed = replies?.find(([error]) => error)
      if (!replies || failed) throw new Error(`XADD failed: ${failed?.[0]?.message ?? 'no reply'}`)
    },
    count: (topic) => admin.xlen(topic),
    async clear(topic) {
      await admin.del(topic)
    },
    async close() {
      if (options.ownsRunKeys !== false) await deleteRunKeys(admin, config)
      for (const client of clients) client.disconnect()
    },
  }
}
