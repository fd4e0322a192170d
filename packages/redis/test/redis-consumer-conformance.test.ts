// The consumer contract every adapter meets (packages/testing/src/consumer-conformance.ts), run against consumeRedisStream on the real Redis.
import { consumeRedisStream, redisStreamsPublisher } from '@txbox/redis'
import { type ConformanceConsumerOptions, type ConsumerFixture, describeConsumerConformance, processOnceWrap, uniqueName } from '@txbox/testing'
import type { Redis } from 'ioredis'
import { deleteKeys, outboxMessage, testRedis } from './redis-test-keys.js'

describeConsumerConformance('redis', async (): Promise<ConsumerFixture> => {
  const redis: Redis = testRedis()
  const prefix = `${uniqueName('cc_redis')}:`
  const stream = `${prefix}events`
  const group = 'workers'
  const clients: Redis[] = []
  let consumerNumber = 0
  return {
    async publish(messageIds) {
      const messages = messageIds.map((messageId, n) => outboxMessage(stream, { messageId, payload: JSON.stringify({ n }) }))
      const results = await redisStreamsPublisher({ redis, stream }).publish(messages, { signal: new AbortController().signal })
      if (!results.every((r) => r.ok)) throw new Error(`publishing failed: ${JSON.stringify(results)}`)
    },
    async start(options: ConformanceConsumerOptions) {
      // A client of its own per consumer, so that crash() can drop it as a killed process would.
      const client = testRedis()
      clients.push(client)
      const consumer = await consumeRedisStream({
        redis: client,
        stream,
        group,
        consumer: `c${++consumerNumber}`,
        blockMs: 100,
        claimIdleMs: 300,
        maxDeliveries: options.maxDeliveries,
        handlerTimeoutMs: options.handlerTimeoutMs,
        ...(options.logger ? { logger: options.logger } : {}),
        handler: (m, context) => options.handler(m, context),
        ...processOnceWrap(options.processOnce),
      })
      let crashed = false
      return {
        stop: async () => {
          await consumer.stop()
          if (!crashed) await client.quit().catch(() => client.disconnect())
        },
        async crash() {
          crashed = true
          // Its connections drop; stop() then only ends the loop, which can reach Redis no more.
          client.disconnect()
          void consumer.stop()
        },
      }
    },
    async unacknowledged() {
      const [count] = (await redis.xpending(stream, group)) as [number]
      return count
    },
    async deadLetters() {
      const entries = await redis.xrange(`${stream}:dead`, '-', '+')
      return entries.map(([, fields]) => fields[fields.indexOf('messageId') + 1] as string)
    },
    async close() {
      await deleteKeys(redis, prefix)
      await redis.quit()
      for (const c of clients) c.disconnect()
    },
  }
}, { txboxConsumer: true, redeliversAfterCrash: true })
