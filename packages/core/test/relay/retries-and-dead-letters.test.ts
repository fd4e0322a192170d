import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

const t = useTestDatabase('relay_retry')
const opts = () => ({ schema: t.schema })
const relayDb = separatePool(t, 'relay_retry_relay', 2)

interface OutboxRow {
  message_id: string
  attempts: number
  last_error: string | null
  available_at: Date | null
}
const outbox = async () =>
  (await sql<OutboxRow>`select message_id, attempts, last_error, available_at from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)).rows
const dead = async () =>
  (await sql<{ message_id: string; attempts: number; last_error: string }>`select message_id, attempts, last_error from ${sql.id(t.schema, 'outbox_dead')} order by id`.execute(t.db)).rows

const enqueue = (messages: Parameters<typeof enqueueOnCommit>[1]) => withTransaction(t.db, (trx) => enqueueOnCommit(trx, messages, opts()))
const payloadOf = (m: OutboxMessage) => JSON.parse(m.payload)
const failing = (pred: (m: OutboxMessage) => boolean, message = 'broker said no') => (m: OutboxMessage) => (pred(m) ? new Error(message) : undefined)

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  await sql`delete from ${sql.id(t.schema, 'outbox_dead')}`.execute(t.db)
})
afterAll(async () => {
  await relayDb.close()
})

describe('a message that keeps failing is retried with backoff, then moved to the dead letters', () => {
  test('a failure records the attempt, the error and the next try from the backoff', async () => {
    const publisher = recordingPublisher()
    publisher.failWhen(failing(() => true))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), backoff: () => 60_000 })
    const failed: Array<{ error: Error }> = []
    relay.on('failed', (e) => failed.push(e))
    const [id] = await enqueue({ topic: 'x', payload: 1 })
    const before = Date.now()
    expect(await relay.runOnce()).toBe(0)
    const [row] = await outbox()
    expect(row).toMatchObject({ message_id: id, attempts: 1, last_error: 'Error: broker said no' })
    const wait = (row?.available_at?.getTime() ?? 0) - before
    expect(wait).toBeGreaterThan(55_000)
    expect(wait).toBeLessThan(65_000)
    expect(failed).toHaveLength(1)
    expect(failed[0]?.error.message).toBe('broker said no') // the publisher's own error
    // Not due: the next claim does not try it again.
    expect(await relay.runOnce()).toBe(0)
    expect(publisher.calls).toHaveLength(1)
  })

  test('it is tried again once due, and goes dead after maxAttempts with its last error', async () => {
    const publisher = recordingPublisher()
    publisher.failWhen(failing(() => true, 'still down'))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), maxAttempts: 3, backoff: { initialDelay: 20, maxDelay: 20 } })
    const deadEvents: Array<{ attempts: number }> = []
    relay.on('dead', (e) => deadEvents.push(e))
    const [id] = await enqueue({ topic: 'x', payload: 1 })
    await waitFor(async () => {
      await relay.runOnce()
      return (await dead()).length === 1
    }, { timeoutMs: 5000, intervalMs: 10 })
    expect(publisher.calls).toHaveLength(3)
    expect(await outbox()).toEqual([])
    expect(await dead()).toEqual([{ message_id: id, attempts: 3, last_error: 'Error: still down' }])
    expect(deadEvents.map((e) => e.attempts)).toEqual([3])
    expect((await relay.metrics()).dead).toBe(1)
  })

  test('a permanent failure goes dead at once', async () => {
    const publisher = recordingPublisher()
    publisher.failWhen((m) => (payloadOf(m) === 'poison' ? Object.assign(new Error('malformed'), { permanent: true }) : undefined))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts() })
    await enqueue([{ topic: 'x', payload: 'poison' }, { topic: 'x', payload: 'fine' }])
    expect(await relay.runOnce()).toBe(1)
    expect((await dead()).map((r) => r.attempts)).toEqual([1])
    expect(await outbox()).toEqual([])
  })

  test('confirmed messages of a partly failed batch are not sent again', async () => {
    const publisher = recordingPublisher()
    publisher.failWhen(failing((m) => payloadOf(m) === 2))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), backoff: () => 0 })
    await enqueue([1, 2, 3].map((n) => ({ topic: 'x', payload: n })))
    expect(await relay.runOnce()).toBe(2)
    publisher.failWhen(undefined)
    expect(await relay.runOnce()).toBe(1)
    expect(publisher.confirmed.map(payloadOf)).toEqual([1, 3, 2])
  })

  test('a publisher that throws fails the whole call, and nothing is lost', async () => {
    const publisher = recordingPublisher()
    publisher.throwOnPublish(new Error('connection reset'))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), backoff: () => 0 })
    await enqueue([1, 2].map((n) => ({ topic: 'x', payload: n })))
    expect(await relay.runOnce()).toBe(0)
    // The broker was not reached: no attempt is spent, and the rows say why.
    expect((await outbox()).map((r) => [r.attempts, r.last_error])).toEqual([
      [0, 'Error: connection reset'],
      [0, 'Error: connection reset'],
    ])
    publisher.throwOnPublish(undefined)
    expect(await relay.runOnce()).toBe(2)
  })

  test('a publisher that does not answer in publishTimeout fails the batch, which is retried', async () => {
    const publisher = recordingPublisher()
    const release = publisher.hold()
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), publishTimeout: 100, backoff: () => 0 })
    await enqueue({ topic: 'x', payload: 1 })
    expect(await relay.runOnce()).toBe(0)
    expect((await outbox())[0]?.last_error).toMatch(/PublishTimeoutError/)
    release()
    expect(await relay.runOnce()).toBe(1)
  })
})

describe('whether a failing head message blocks its key is an option', () => {
  async function scenario(blockKeyOnFailure: boolean) {
    const publisher = recordingPublisher()
    // A1 fails twice, then passes.
    let a1Failures = 0
    publisher.failWhen((m) => (payloadOf(m) === 'A1' && a1Failures++ < 2 ? new Error('A1 refused') : undefined))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), blockKeyOnFailure, backoff: () => 150 })
    await enqueue([
      { topic: 't', key: 'A', payload: 'A1' },
      { topic: 't', key: 'B', payload: 'B1' },
      { topic: 't', key: 'A', payload: 'A2' },
      { topic: 't', key: 'B', payload: 'B2' },
      { topic: 't', key: 'A', payload: 'A3' },
    ])
    await relay.runOnce()
    const afterFirst = publisher.confirmed.map(payloadOf)
    await enqueue({ topic: 't', key: 'A', payload: 'A4' })
    await relay.runOnce() // A1 not due yet
    const beforeRetry = publisher.confirmed.map(payloadOf)
    await waitFor(async () => {
      await relay.runOnce()
      return publisher.confirmed.length === 6
    }, { timeoutMs: 5000, intervalMs: 20 })
    return { afterFirst, beforeRetry, all: publisher.confirmed.map(payloadOf), calls: publisher.calls.map((c) => c.map(payloadOf)) }
  }

  test('blocking (the default): the key waits for its head, other keys go on, and order holds', async () => {
    const r = await scenario(true)
    expect(r.afterFirst).toEqual(['B1', 'B2'])
    // A2 and A3 never left while A1 was failing: the waves stop a key at its first failure.
    expect(r.calls[0]).toEqual(['A1', 'B1'])
    expect(r.calls.flat().filter((p) => p === 'A2')).toEqual(['A2'])
    expect(r.beforeRetry).toEqual(['B1', 'B2'])
    expect(r.all).toEqual(['B1', 'B2', 'A1', 'A2', 'A3', 'A4'])
  })

  test('not blocking: the key’s later messages go on and the failed one is retried after them', async () => {
    const r = await scenario(false)
    expect(r.afterFirst).toEqual(['B1', 'A2', 'B2', 'A3'])
    expect(r.beforeRetry).toEqual(['B1', 'A2', 'B2', 'A3', 'A4'])
    expect(r.all).toEqual(['B1', 'A2', 'B2', 'A3', 'A4', 'A1'])
  })
})

describe('a publisher that stops a key at its first failure gets whole batches', () => {
  test('blocking mode sends the batch in one call, and order holds as with waves', async () => {
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    let a1Failures = 0
    publisher.failWhen((m) => (payloadOf(m) === 'A1' && a1Failures++ < 1 ? new Error('A1 refused') : undefined))
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), backoff: () => 100 })
    await enqueue([
      { topic: 't', key: 'A', payload: 'A1' },
      { topic: 't', key: 'B', payload: 'B1' },
      { topic: 't', key: 'A', payload: 'A2' },
      { topic: 't', key: 'B', payload: 'B2' },
    ])
    await relay.runOnce()
    expect(publisher.calls.map((c) => c.map(payloadOf))).toEqual([['A1', 'B1', 'A2', 'B2']])
    expect(publisher.confirmed.map(payloadOf)).toEqual(['B1', 'B2'])
    // A2 was held back, not attempted: its attempts are unchanged.
    expect((await outbox()).map((r) => r.attempts)).toEqual([1, 0])
    await waitFor(async () => {
      await relay.runOnce()
      return publisher.confirmed.length === 4
    }, { timeoutMs: 5000, intervalMs: 20 })
    expect(publisher.confirmed.map(payloadOf)).toEqual(['B1', 'B2', 'A1', 'A2'])
  })
})
