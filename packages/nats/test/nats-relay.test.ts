// The relay into JetStream, and consumeNats out of it: end to end, every
// committed message handled once in per-key order; NATS not reachable costs
// no attempts; what NATS can never carry goes to the dead letters at once.
import { createRelay, enqueueOnCommit, migrate, processOnce, type Publisher, withTransaction } from '@txbox/core'
import { connect } from '@nats-io/transport-node'
import { consumeNats, natsPublisher } from '@txbox/nats'
import { uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startTcpProxy } from '../../../test/support/tcp-proxy.js'
import { asReceived, natsUrl, openTestNats, readStream, type TestNats } from './nats-test-streams.js'
import { recordingLogger } from './recording-logger.js'

const t = useTestDatabase('nats_relay', { poolSize: 3 })
const stream = uniqueName('nats_relay')
let nats: TestNats

const rows = async (table: 'outbox' | 'outbox_dead') =>
  (await sql<{ message_id: string; attempts: number; last_error: string | null }>`select message_id, attempts, last_error from ${sql.id(t.schema, table)} order by id`.execute(t.db)).rows

beforeAll(async () => {
  nats = await openTestNats('txbox-relay-test')
  await nats.addStream({ name: stream, subjects: [`${stream}.>`] })
  await migrate(t.db, { schema: t.schema })
})
afterAll(async () => {
  await nats?.close()
})

test('relay → JetStream → consumeNats with processOnce: every committed message handled once, in per-key order', async () => {
  const topic = `${stream}.orders`
  const relay = createRelay({ db: t.db, publisher: natsPublisher({ connection: nats.nc }), schema: t.schema, batchSize: 25, pollInterval: 50 })
  const handled: { key: string; seq: number }[] = []
  const consumer = await consumeNats<{ key: string; seq: number }>({
    connection: nats.nc,
    stream,
    durable: 'orders',
    fetchWaitMs: 1000,
    logger: recordingLogger(),
    wrap: (m, run) => processOnce(t.db, m.messageId, run, { schema: t.schema }),
    handler: async (m) => void handled.push(m.payload),
  })
  try {
    await relay.start()
    const expected = new Map<string, number[]>()
    for (let i = 0; i < 100; i++) {
      const key = `k${i % 4}`
      await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic, key, payload: { key, seq: i } }, { schema: t.schema }))
      expected.set(key, [...(expected.get(key) ?? []), i])
    }
    await withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic, key: 'k0', payload: { key: 'k0', seq: -1 } }, { schema: t.schema })
      throw new Error('roll back')
    }).catch(() => {})
    await waitFor(() => handled.length >= 100, { timeoutMs: 20_000, message: '100 handled' })
    const byKey = new Map<string, number[]>()
    for (const p of handled) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.seq])
    expect(byKey).toEqual(expected)
    expect(await rows('outbox')).toEqual([])
  } finally {
    await relay.stop()
    await consumer.stop()
  }
})

test('NATS not reachable: the relay spends no attempt, and once NATS answers the stream holds each message once', async () => {
  const topic = `${stream}.outage`
  const proxy = await startTcpProxy({ port: Number(new URL(natsUrl).port || 4222) })
  const nc = await connect({ servers: `127.0.0.1:${proxy.port}` })
  const relay = createRelay({ db: t.db, publisher: natsPublisher({ connection: nc, ackTimeoutMs: 300 }), schema: t.schema, maxAttempts: 1 })
  try {
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic, payload: { n } })), { schema: t.schema }),
    )
    proxy.stall()
    expect(await relay.runOnce()).toBe(0)
    // maxAttempts 1: one counted attempt would have sent them to the dead letters.
    expect((await rows('outbox')).map((r) => [r.message_id, r.attempts])).toEqual(ids.map((id) => [id, 0]))
    expect(await rows('outbox_dead')).toEqual([])
    proxy.resume()
    await waitFor(async () => (await relay.runOnce()) === 3 || (await rows('outbox')).length === 0, { timeoutMs: 10_000, message: 'published after the outage' })
    expect((await readStream(nats.jsm, stream, topic)).map((c) => asReceived(c).messageId)).toEqual(ids)
  } finally {
    await relay.stop()
    await nc.close()
    await proxy.close()
    await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  }
})

test('a message NATS can never carry goes to the dead letters at once, without holding up the others', async () => {
  const topic = `${stream}.limits`
  const relay = createRelay({ db: t.db, publisher: natsPublisher({ connection: nats.nc }), schema: t.schema, maxAttempts: 10 })
  try {
    const [good, bad] = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        [
          { topic, payload: { n: 1 } },
          { topic, payload: { n: 2 }, headers: { 'Nats-Rollup': 'all' } },
        ],
        { schema: t.schema },
      ),
    )
    expect(await relay.runOnce()).toBe(1)
    expect((await rows('outbox_dead')).map((r) => [r.message_id, r.attempts])).toEqual([[bad, 1]])
    expect((await rows('outbox_dead'))[0]?.last_error).toMatch(/Nats-, which JetStream reads/)
    expect((await readStream(nats.jsm, stream, topic)).map((c) => asReceived(c).messageId)).toEqual([good])
  } finally {
    await relay.stop()
  }
})

test("pipelineKeys: a batch holding several messages of one key goes in one call (default: one call per message of the key, the relay's waves)", async () => {
  const callsFor = async (topic: string, pipelineKeys: boolean) => {
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        Array.from({ length: 6 }, (_, seq) => ({ topic, key: 'one-key', payload: { seq } })),
        { schema: t.schema },
      ),
    )
    const real = natsPublisher({ connection: nats.nc, pipelineKeys })
    expect(real.stopsKeyOnFailure === true).toBe(pipelineKeys)
    let calls = 0
    const counting: Publisher = {
      ...(real.stopsKeyOnFailure === undefined ? {} : { stopsKeyOnFailure: real.stopsKeyOnFailure }),
      publish: (messages, context) => {
        calls++
        return real.publish(messages, context)
      },
    }
    const relay = createRelay({ db: t.db, publisher: counting, schema: t.schema })
    expect(await relay.runOnce()).toBe(6)
    expect((await readStream(nats.jsm, stream, topic)).map((m) => (asReceived(m).payload as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4, 5])
    return calls
  }
  expect(await callsFor(`${stream}.waves`, false)).toBe(6)
  expect(await callsFor(`${stream}.pipelined`, true)).toBe(1)
})
