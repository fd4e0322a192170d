import type { OutboxMessage } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { faultInjectingPublisher, type PublishCallRecord, serviceUrls, uniqueName } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readStreamEntries } from '../support/redis-deliveries.js'

// The fault injector the checker trusts to say what the broker may hold: run
// against the real Redis publisher, each fault must report and record exactly
// what reached the stream, and never report a message published that Redis
// did not confirm.
const stream = uniqueName('fault_injector')
let redis: Redis

beforeAll(() => {
  redis = new Redis(serviceUrls().redisUrl)
})
afterAll(async () => {
  await redis.del(stream)
  redis.disconnect()
})

const message = (n: number, key: string | null): OutboxMessage => ({
  id: String(n),
  messageId: `fi-${stream}-${n}`,
  topic: 't',
  key,
  payload: JSON.stringify({ n }),
  headers: {},
  attempts: 0,
  createdAt: new Date(),
})
const inStream = async () => (await readStreamEntries(redis, stream)).map((e) => JSON.parse(e.fields.get('payload') as string).n as number)

function setup(closeConnection?: () => void) {
  const records: PublishCallRecord[] = []
  const publisher = faultInjectingPublisher(redisStreamsPublisher({ redis, stream }), { onCall: (r) => records.push(r), closeConnection })
  return { publisher, records }
}

describe('faultInjectingPublisher around the real Redis publisher', () => {
  it('refuses one message and holds back the later messages of its key, as the wrapped publisher promises', async () => {
    await redis.del(stream)
    const { publisher, records } = setup()
    publisher.inject({ kind: 'refuse', index: 1, permanent: true })
    const results = await publisher.publish([message(1, 'k'), message(2, 'k'), message(3, 'k'), message(4, null)], { signal: new AbortController().signal })
    expect(results.map((r) => (r.ok ? 'ok' : r.permanent ? 'permanent' : 'failed'))).toEqual(['ok', 'permanent', 'failed', 'ok'])
    expect(records[0]?.messages.map((m) => m.reported)).toEqual(['ok', 'permanent', 'held-back', 'ok'])
    expect(records[0]?.messages.map((m) => m.forwarded)).toEqual([true, false, false, true])
    expect(await inStream()).toEqual([1, 4])
  })

  it('on a late reply, the broker has the prefix and the call answers only after the relay gave up', async () => {
    await redis.del(stream)
    const { publisher, records } = setup()
    publisher.inject({ kind: 'late-reply', delivered: 1 })
    const results = await publisher.publish([message(1, 'k'), message(2, 'k')], { signal: AbortSignal.timeout(200) })
    expect(results.every((r) => !r.ok)).toBe(true)
    expect(records[0]?.timedOut).toBe(true)
    expect(records[0]?.messages.map((m) => m.forwarded)).toEqual([true, false])
    expect(await inStream()).toEqual([1])
  })

  it('throws after the broker got the prefix, and records that the broker may have it', async () => {
    await redis.del(stream)
    const { publisher, records } = setup()
    publisher.inject({ kind: 'throw', delivered: 2 })
    await expect(publisher.publish([message(1, 'a'), message(2, 'b'), message(3, 'c')], { signal: new AbortController().signal })).rejects.toThrow(/injected/)
    expect(records[0]?.messages.map((m) => [m.forwarded, m.reported])).toEqual([
      [true, 'threw'],
      [true, 'threw'],
      [false, 'threw'],
    ])
    expect(await inStream()).toEqual([1, 2])
  })

  it('marks the calls in flight when it closes the connection, and is a plain pass-through after clearFaults', async () => {
    await redis.del(stream)
    let closed = 0
    const { publisher, records } = setup(() => {
      closed += 1
    })
    publisher.inject({ kind: 'close-connection' })
    publisher.inject({ kind: 'slow-reply', delayMs: 10 })
    publisher.clearFaults()
    await publisher.publish([message(1, 'k')], { signal: new AbortController().signal })
    expect(closed).toBe(0)
    publisher.inject({ kind: 'close-connection' })
    await publisher.publish([message(2, 'k')], { signal: new AbortController().signal })
    expect(closed).toBe(1)
    expect(records.map((r) => r.connectionClosed)).toEqual([false, true])
  })
})
