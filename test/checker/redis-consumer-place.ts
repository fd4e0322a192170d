import type { Logger } from '@txbox/core'
import { consumeRedisStream, redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls } from '@txbox/testing'
import { Redis } from 'ioredis'
import { readStreamEntries } from '../support/redis-deliveries.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import type { ConsumerBehaviour, ConsumerPlace, RunningConsumer } from './consumer-place.js'
import type { ConsumerRunConfig } from './consumer-scenario-model.js'
import { parseN } from './run-history.js'

const GROUP = 'checker'

/**
 * The run's own stream, consumed by one group. Each consumer talks to Redis
 * through its own ioredis client (default options, as the docs show it) behind
 * its own TCP proxy; the publisher and the harness's reader connect directly.
 */
export async function redisConsumerPlace(stream: string, config: ConsumerRunConfig): Promise<ConsumerPlace> {
  const target = new URL(serviceUrls().redisUrl)
  const db = Number(target.pathname.slice(1) || 0)
  const direct = new Redis(serviceUrls().redisUrl, { lazyConnect: true })
  direct.on('error', () => {})
  await direct.connect()
  const publisher = redisStreamsPublisher({ redis: direct, stream })
  const deadStream = `${stream}:dead`
  const opened = new Set<RunningConsumer>()

  return {
    kind: 'redis',
    async publish(messages) {
      const results = await publisher.publish(messages, { signal: new AbortController().signal })
      const failed = results.filter((r) => !r.ok)
      if (failed.length > 0) throw new Error(`the publisher failed ${failed.length} message(s): ${failed.map((r) => (r.ok ? '' : r.error.message)).join('; ')}`)
    },
    async startConsumer(behaviour: ConsumerBehaviour) {
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
      const redis = new Redis({ host: '127.0.0.1', port: proxy.port, db, connectionName: behaviour.name, lazyConnect: true })
      redis.on('error', () => {})
      await redis.connect()
      const logger: Logger = {
        debug: () => {},
        info: () => {},
        warn: (fields, message) => behaviour.log(`warn ${behaviour.name}: ${message ?? ''} ${brief(fields)}`),
        error: (fields, message) => behaviour.log(`error ${behaviour.name}: ${message ?? ''} ${brief(fields)}`),
      }
      let consumer: { stop(): Promise<void> }
      try {
        consumer = await consumeRedisStream({
          redis,
          stream,
          group: GROUP,
          consumer: behaviour.name,
          count: config.batch,
          blockMs: 500,
          claimIdleMs: config.claimIdleMs,
          handlerTimeoutMs: config.handlerTimeoutMs,
          maxDeliveries: config.maxDeliveries,
          handler: (m, { signal }) => behaviour.handler(m, signal),
          wrap: behaviour.wrap,
          logger,
        })
      } catch (error) {
        redis.disconnect()
        await proxy.close()
        throw error
      }
      const running: RunningConsumer = {
        stop: () => consumer.stop(),
        drop: () => proxy.dropAll(),
        cutForGood() {
          // Closed, not refusing: a reconnection then meets a closed port, as with a dead host.
          void proxy.close()
        },
        async close() {
          opened.delete(running)
          redis.disconnect()
          await proxy.close()
        },
      }
      opened.add(running)
      return running
    },
    async deadLetters() {
      return (await readStreamEntries(direct, deadStream)).map((e) => parseN(e.fields.get('payload') ?? '') ?? -1)
    },
    async idle() {
      const [pending] = (await direct.call('XPENDING', stream, GROUP)) as [number]
      if (Number(pending) > 0) return false
      // Lag: entries no consumer has read yet.
      const groups = (await direct.call('XINFO', 'GROUPS', stream)) as unknown[][]
      const info = groups.map((g) => toRecord(g)).find((g) => g.name === GROUP)
      return info !== undefined && Number(info.lag ?? 0) === 0
    },
    async cleanup() {
      for (const running of [...opened]) await running.close()
      await direct.del(stream, deadStream)
      direct.disconnect()
    },
  }
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]
  return out
}

/** A log record's fields in one short line. */
export function brief(fields: unknown): string {
  if (typeof fields !== 'object' || fields === null) return String(fields ?? '')
  const out: string[] = []
  for (const [name, value] of Object.entries(fields)) {
    if (['stream', 'group', 'consumer', 'redis'].includes(name)) continue
    out.push(`${name}=${value instanceof Error ? value.message : typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
  }
  return out.join(' ').slice(0, 300)
}
