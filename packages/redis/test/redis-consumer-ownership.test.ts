import { setTimeout as sleep } from 'node:timers/promises'
import type { RedisStreamMessage } from '@txbox/redis'
import { waitFor } from '@txbox/testing'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { consumerFixture, gate, recordingLogger } from './consumer-fixture.js'
import { outboxMessage } from './redis-test-keys.js'

// A consumer reads up to `count` entries at once and handles them one by one.
// The entries wait, pending, while the ones before them are handled; another
// consumer of the group may claim an entry whose idle time passed claimIdleMs.
// The consumer keeps what it read (it resets their idle time while it works)
// and checks, before handling each entry, that the entry is still its own.

const f = consumerFixture('redis_owner')
const { redis, prefix } = f

afterEach(() => f.stopConsumers())
afterAll(() => f.close())

describe('ownership of the entries read', () => {
  test('each entry is handled once, and none is dead-lettered, when count × handler time exceeds claimIdleMs', async () => {
    const stream = `${prefix}slow-batch`
    const messages = Array.from({ length: 10 }, () => outboxMessage('t'))
    await f.publish(stream, messages)
    const handled: RedisStreamMessage[] = []
    // 10 × 80 ms of work per batch, claimIdleMs 200: the tail of a batch waits far longer than claimIdleMs.
    const handler = async (m: RedisStreamMessage) => {
      handled.push(m)
      await sleep(80)
    }
    const options = { stream, group: 'g', count: 10, claimIdleMs: 200, maxDeliveries: 2, handler, logger: recordingLogger() }
    await f.consume({ ...options, consumer: 'c1' })
    await waitFor(() => handled.length > 0, { message: 'c1 took the batch' })
    await f.consume({ ...options, consumer: 'c2' })
    await f.consume({ ...options, consumer: 'c3' })

    await waitFor(async () => handled.length >= 10 && (await f.pending(stream, 'g')) === 0, { message: 'every entry handled and acknowledged' })
    // Stopping waits for handlers in flight, so a second handling would show now.
    await f.stopConsumers()
    expect(handled.map((m) => m.messageId).sort()).toEqual(messages.map((m) => m.messageId).sort())
    expect(handled.every((m) => m.deliveries === 1)).toBe(true)
    expect(await redis.exists(`${stream}:dead`)).toBe(0)
  })

  test('an entry another consumer claimed while it waited in the batch is not handled by the consumer that read it', async () => {
    const stream = `${prefix}claimed-away`
    const messages = [outboxMessage('t'), outboxMessage('t'), outboxMessage('t')]
    await f.publish(stream, messages)
    const held = gate()
    const handled: string[] = []
    const logger = recordingLogger()
    await f.consume({
      stream,
      group: 'g',
      consumer: 'c1',
      count: 10,
      claimIdleMs: 60_000,
      logger,
      handler: async (m) => {
        handled.push(m.messageId)
        if (handled.length === 1) await held.wait
      },
    })
    await waitFor(() => handled.length === 1, { message: 'c1 handles the first entry of its batch' })
    // An operator (or a consumer with a shorter claimIdleMs) takes the second entry.
    const [, second] = await f.pendingEntries(stream, 'g')
    await redis.xclaim(stream, 'g', 'other', 0, second?.id as string, 'JUSTID')
    held.open()

    await waitFor(async () => handled.length === 2 && (await f.pending(stream, 'g')) === 1, { message: 'c1 handled the first and third entries' })
    expect(handled).toEqual([messages[0]?.messageId, messages[2]?.messageId])
    expect(await f.pendingEntries(stream, 'g')).toEqual([{ id: second?.id, consumer: 'other', deliveries: 1 }])
    expect(logger.find(/claimed by another consumer/)[0]?.fields).toMatchObject({ stream, streamId: second?.id, owner: 'other' })
  })
})
