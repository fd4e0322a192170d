import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, type Publisher, withTransaction } from '@txbox/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { useTestDatabase } from './test-database.js'

/** A message as a consumer reads it from the broker. */
export interface ReceivedMessage {
  readonly messageId: string
  readonly topic: string
  readonly key: string | null
  /** The payload, parsed from the JSON text the broker carried. */
  readonly payload: unknown
  readonly headers: Readonly<Record<string, string>>
}

/** What an adapter's test provides to the conformance suite. */
export interface PublisherFixture {
  readonly publisher: Publisher
  /** A topic name unique to this fixture, usable as a stream name / routing key. */
  topic(name: string): string
  /** Resolves once `count` messages of `topic` were received (in broker order), or rejects after a bounded wait. */
  received(topic: string, count: number): Promise<ReceivedMessage[]>
  /** Makes the broker refuse messages for `topic` from now on (a per-destination failure). */
  breakTopic(topic: string): Promise<void>
  /** Closes the publisher and removes what the fixture created on the broker. */
  close(): Promise<void>
}

function message(id: number, topic: string, overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: String(id),
    messageId: `m-${id}-${Math.random().toString(36).slice(2)}`,
    topic,
    key: null,
    payload: JSON.stringify({ n: id }),
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

const signal = () => new AbortController().signal

/**
 * The contract every Publisher must meet, run by each adapter against its
 * real broker: `describePublisherConformance('redis', async () => fixture)`.
 */
export function describePublisherConformance(
  name: string,
  createFixture: () => Promise<PublisherFixture>,
  capabilities: {
    readonly stopsKeyOnFailure: boolean
    /**
     * Whether the broker's messages carry the ordering key and every header.
     * Default true. A BullMQ job has no place for them (its data is the
     * payload, untouched): such an adapter must still carry W3C trace context
     * (its fixture reports it as the `traceparent` header).
     */
    readonly carriesKeyAndHeaders?: boolean
  },
): void {
  const carriesKeyAndHeaders = capabilities.carriesKeyAndHeaders ?? true
  describe(`Publisher conformance: ${name}`, () => {
    const t = useTestDatabase(`conf_${name}`)
    let f: PublisherFixture

    beforeAll(async () => {
      f = await createFixture()
      await migrate(t.db, { schema: t.schema })
    })
    afterAll(async () => {
      await f?.close()
    })

    test('confirms every message of a batch with one result per message, in order', async () => {
      const topic = f.topic('batch')
      const batch = Array.from({ length: 25 }, (_, i) => message(i + 1, topic))
      const results = await f.publisher.publish(batch, { signal: signal() })
      expect(results).toHaveLength(25)
      expect(results.every((r) => r.ok)).toBe(true)
      const got = await f.received(topic, 25)
      expect(got.map((m) => m.messageId)).toEqual(batch.map((m) => m.messageId))
    })

    test(`carries the message id, topic, JSON payload${carriesKeyAndHeaders ? ', key and headers' : ' and trace context'} to the broker`, async () => {
      const topic = f.topic('fields')
      const m = message(1, topic, {
        key: 'user:42',
        payload: JSON.stringify({ userId: 42, name: 'Zoë', tags: ['a', 'b'], nested: { ok: true } }),
        headers: { 'x-tenant': 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      })
      const [result] = await f.publisher.publish([m], { signal: signal() })
      expect(result?.ok).toBe(true)
      const [got] = await f.received(topic, 1)
      expect(got).toEqual({
        messageId: m.messageId,
        topic,
        key: carriesKeyAndHeaders ? 'user:42' : null,
        payload: { userId: 42, name: 'Zoë', tags: ['a', 'b'], nested: { ok: true } },
        headers: expect.objectContaining(carriesKeyAndHeaders ? { 'x-tenant': 'acme', traceparent: m.headers.traceparent } : { traceparent: m.headers.traceparent }),
      })
    })

    test('an unkeyed message arrives without a key', async () => {
      const topic = f.topic('nokey')
      await f.publisher.publish([message(1, topic)], { signal: signal() })
      const [got] = await f.received(topic, 1)
      expect(got?.key).toBeNull()
    })

    test('an empty batch resolves to no results', async () => {
      expect(await f.publisher.publish([], { signal: signal() })).toEqual([])
    })

    test('a message the broker refuses fails alone; the others of the batch are confirmed', async () => {
      const good = f.topic('good')
      const bad = f.topic('bad')
      await f.breakTopic(bad)
      const batch = [message(1, good), message(2, bad), message(3, good)]
      const results = await f.publisher.publish(batch, { signal: signal() })
      expect(results.map((r) => r.ok)).toEqual([true, false, true])
      const failed = results[1]
      expect(failed && !failed.ok && failed.error).toBeInstanceOf(Error)
      const got = await f.received(good, 2)
      expect(got.map((m) => m.messageId)).toEqual([batch[0]?.messageId, batch[2]?.messageId])
    })

    test('through the relay: every committed message arrives once, in per-key order; rolled-back ones never', async () => {
      const topic = f.topic('relay')
      const relay = createRelay({ db: t.db, publisher: f.publisher, schema: t.schema, batchSize: 20 })
      const expected = new Map<string, number[]>()
      for (let i = 0; i < 60; i++) {
        const key = `k${i % 5}`
        await withTransaction(t.db, async (trx) => {
          await enqueueOnCommit(trx, { topic, key, payload: { key, seq: i } }, { schema: t.schema })
        })
        expected.set(key, [...(expected.get(key) ?? []), i])
      }
      await withTransaction(t.db, async (trx) => {
        await enqueueOnCommit(trx, { topic, key: 'k0', payload: { key: 'k0', seq: -1 } }, { schema: t.schema })
        throw new Error('roll back')
      }).catch(() => {})
      let published = 0
      for (let i = 0; i < 20 && published < 60; i++) published += await relay.runOnce()
      expect(published).toBe(60)
      const got = await f.received(topic, 60)
      expect(got).toHaveLength(60)
      const byKey = new Map<string, number[]>()
      for (const m of got) {
        const p = m.payload as { key: string; seq: number }
        byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.seq])
      }
      expect(byKey).toEqual(expected)
    })

    test(`declares stopsKeyOnFailure: ${capabilities.stopsKeyOnFailure}`, () => {
      expect(f.publisher.stopsKeyOnFailure === true).toBe(capabilities.stopsKeyOnFailure)
    })

    if (capabilities.stopsKeyOnFailure) {
      test('once a message of a key fails, the later messages of that key in the call are not published', async () => {
        const good = f.topic('keygood')
        const bad = f.topic('keybad')
        await f.breakTopic(bad)
        const batch = [
          message(1, good, { key: 'K' }),
          message(2, bad, { key: 'K' }),
          message(3, good, { key: 'K' }),
          message(4, good, { key: 'J' }),
          message(5, good, { key: 'K' }),
          message(6, good),
        ]
        const results = await f.publisher.publish(batch, { signal: signal() })
        expect(results.map((r) => r.ok)).toEqual([true, false, false, true, false, true])
        const got = await f.received(good, 3)
        expect(got.map((m) => m.messageId)).toEqual([batch[0], batch[3], batch[5]].map((m) => m?.messageId))
      })
    }

    test('close() can be called twice', async () => {
      const other = await createFixture()
      await other.close()
      await other.close()
    })
  })
}
