import { setTimeout as sleep } from 'node:timers/promises'
import { serviceUrls, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { startTcpProxy } from '../../../test/support/tcp-proxy.js'
import { consumerFixture, gate, recordingLogger } from './consumer-fixture.js'
import { outboxMessage, readStream } from './redis-test-keys.js'

// A handler that never settles must not hold its entry, its consumer, the
// group or stop() for good: after handlerTimeoutMs the delivery counts as failed.

const f = consumerFixture('redis_timeout')
const { redis, prefix } = f

afterEach(() => f.stopConsumers())
afterAll(() => f.close())

const never = () => new Promise<void>(() => {})

/** Resolves to how long `promise` took, or to `'still waiting'` after `limitMs` (so a hang fails the test quickly instead of at the test timeout). */
async function timed(promise: Promise<unknown>, limitMs: number): Promise<number | 'still waiting'> {
  const began = Date.now()
  const outcome = await Promise.race([promise.then(() => 'done' as const), sleep(limitMs, 'still waiting' as const)])
  return outcome === 'done' ? Date.now() - began : outcome
}

describe('handlerTimeoutMs', () => {
  test('a handler that never settles times out: its entry is dead-lettered after maxDeliveries and the group handles the rest', async () => {
    const stream = `${prefix}poison`
    const poison = outboxMessage('t')
    const rest = [outboxMessage('t'), outboxMessage('t')]
    await f.publish(stream, [poison, ...rest])
    const handled: string[] = []
    const options = {
      stream,
      group: 'g',
      claimIdleMs: 200,
      handlerTimeoutMs: 150,
      maxDeliveries: 2,
      logger: recordingLogger(),
      handler: async (m: { messageId: string }) => {
        if (m.messageId === poison.messageId) return never()
        handled.push(m.messageId)
      },
    }
    await f.consume({ ...options, consumer: 'c1' })
    await f.consume({ ...options, consumer: 'c2' })

    await waitFor(async () => (await redis.exists(`${stream}:dead`)) === 1 && (await f.pending(stream, 'g')) === 0, { message: 'the poison entry went to the dead letters' })
    expect(handled.sort()).toEqual(rest.map((m) => m.messageId).sort())
    const [dead] = await readStream(redis, `${stream}:dead`)
    expect(dead?.fields).toMatchObject({ messageId: poison.messageId, deliveries: '2' })
    expect(dead?.fields.error).toMatch(/handler did not settle within 150 ms/)
  })

  test('stop() resolves within handlerTimeoutMs while a handler hangs; the entry stays pending and is delivered again', async () => {
    const stream = `${prefix}stop-hung`
    const m = outboxMessage('t')
    await f.publish(stream, [m])
    let started = false
    const logger = recordingLogger()
    const consumer = await f.consume({
      stream,
      group: 'g',
      consumer: 'c1',
      claimIdleMs: 300,
      handlerTimeoutMs: 300,
      logger,
      handler: () => {
        started = true
        return never()
      },
    })
    await waitFor(() => started, { message: 'the handler is running' })
    const took = await timed(consumer.stop(), 5000)
    expect(took).toEqual(expect.any(Number))
    expect(took).toBeLessThan(300 + 1500)
    expect(await f.pendingEntries(stream, 'g')).toMatchObject([{ consumer: 'c1', deliveries: 1 }])
    expect(logger.find(/handler did not settle within handlerTimeoutMs/)[0]).toMatchObject({ level: 'warn', fields: { timeoutMs: 300, deliveries: 1 } })

    const got: number[] = []
    await f.consume({ stream, group: 'g', consumer: 'c2', claimIdleMs: 300, logger, handler: (msg) => void got.push(msg.deliveries) })
    await waitFor(async () => got.length === 1 && (await f.pending(stream, 'g')) === 0, { message: 'another consumer handled the entry' })
    expect(got).toEqual([2])
  })

  test('stop() resolves in bounded time even when Redis stops answering (a frozen server)', async () => {
    const stream = `${prefix}frozen`
    await f.publish(stream, [outboxMessage('t')])
    const proxy = await startTcpProxy({ port: Number(new URL(serviceUrls().redisUrl).port || 6379) })
    const throughProxy = new Redis({ port: proxy.port, maxRetriesPerRequest: null })
    throughProxy.on('error', () => {})
    const held = gate()
    let started = false
    try {
      const consumer = await f.consume({
        redis: throughProxy,
        stream,
        group: 'g',
        consumer: 'c1',
        handlerTimeoutMs: 500,
        logger: recordingLogger(),
        handler: async () => {
          started = true
          await held.wait
        },
      })
      await waitFor(() => started, { message: 'the handler is running' })
      proxy.stall()
      held.open() // its XACK now waits for an answer that does not come
      const took = await timed(consumer.stop(), 10_000)
      expect(took).toEqual(expect.any(Number))
      // handlerTimeoutMs + 2 s for the loop, then up to 1 s for QUIT on the consumer's own connection.
      expect(took).toBeLessThan(500 + 2000 + 1000 + 1000)
    } finally {
      throughProxy.disconnect()
      await proxy.close()
    }
  })

  test('the handler gets a signal that aborts when it times out, so it can give up its work', async () => {
    const stream = `${prefix}signal`
    await f.publish(stream, [outboxMessage('t')])
    const reasons: unknown[] = []
    await f.consume({
      stream,
      group: 'g',
      consumer: 'c1',
      handlerTimeoutMs: 100,
      maxDeliveries: 1,
      logger: recordingLogger(),
      handler: (_m, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reasons.push(signal.reason)
            reject(signal.reason)
          })
        }),
    })
    await waitFor(async () => (await redis.exists(`${stream}:dead`)) === 1, { message: 'the entry timed out and went to the dead letters' })
    expect(reasons).toHaveLength(1)
    expect(String((reasons[0] as Error).message)).toMatch(/did not settle within 100 ms/)
  })

  test('handlerTimeoutMs must be a positive integer that a timer can wait', async () => {
    const base = { stream: `${prefix}bad`, group: 'g', consumer: 'c', handler: () => {} }
    await expect(f.consume({ ...base, handlerTimeoutMs: 0 })).rejects.toThrow(/handlerTimeoutMs must be a positive integer/)
    await expect(f.consume({ ...base, handlerTimeoutMs: 2 ** 31 })).rejects.toThrow(/handlerTimeoutMs must be at most 2147483647 ms/)
    expect(await redis.exists(base.stream)).toBe(0)
  })
})
