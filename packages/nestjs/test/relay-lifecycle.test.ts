import type { DynamicModule } from '@nestjs/common'
import { migrate, type Publisher, type Relay } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TXBOX_RELAY, TxboxModule } from '../src/index.js'
import { compileApp, RELAY_DB, SignUps } from './typeorm-app.js'

const t = useTestDatabase('nest_relay')
const streams: string[] = []
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await t.db.schema.createTable('users').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('email', 'text', (c) => c.notNull()).execute()
  redis = new Redis(serviceUrls().redisUrl)
})

afterAll(async () => {
  if (streams.length > 0) await redis?.del(...streams)
  await redis?.quit()
})

/** The application, with TxboxModule configured by forRootAsync from the relay database the app provides. */
function compile(publisher: Publisher, relay: { batchSize?: number; concurrency?: number } = {}) {
  const txbox = (database: DynamicModule) =>
    TxboxModule.forRootAsync({
      imports: [database],
      inject: [RELAY_DB],
      useFactory: (db: Kysely<any>) => ({ schema: t.schema, relay: { db, publisher, pollInterval: 50, ...relay } }),
    })
  return compileApp({ url: t.url, schema: t.schema, txbox })
}

/** The message ids a Redis stream holds, in stream order. */
async function publishedIds(stream: string): Promise<string[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][]
  return entries.map(([, fields]) => fields[fields.indexOf('messageId') + 1]!)
}

async function outboxIds(): Promise<string[]> {
  const rows = await t.db.withSchema(t.schema).selectFrom('outbox').select('message_id').execute()
  return rows.map((r) => r.message_id as string)
}

describe('TxboxModule: the relay lives with the application', () => {
  it('starts the relay when the application bootstraps, not before, and it publishes to Redis; app.close() stops it', async () => {
    const stream = uniqueName('nest_relay_start')
    streams.push(stream)
    const app = await compile(redisStreamsPublisher({ redis, stream }))
    const relay = app.get<Relay>(TXBOX_RELAY)
    try {
      const [messageId] = await app.get(SignUps).signUp('ada@example.com')
      expect(relay.running).toBe(false) // compiled, not bootstrapped
      await app.init()
      expect(relay.running).toBe(true)
      await waitFor(async () => (await publishedIds(stream)).includes(messageId!), { timeoutMs: 10_000, message: 'the relay published the message' })
    } finally {
      await app.close()
    }
    expect(relay.running).toBe(false)
    expect(await outboxIds()).toEqual([])
  })

  it('app.close() waits for the batch in flight: every message is then published once or still in the outbox, none lost, none twice', async () => {
    const stream = uniqueName('nest_relay_close')
    streams.push(stream)
    const redisPublisher = redisStreamsPublisher({ redis, stream })
    // The real publisher, held at the gate until the test opens it, so that close() comes while a batch is in flight.
    let batchInFlight!: () => void
    const inFlight = new Promise<void>((resolve) => (batchInFlight = resolve))
    let openGate!: () => void
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    const gated: Publisher = {
      stopsKeyOnFailure: redisPublisher.stopsKeyOnFailure,
      async publish(messages, context) {
        batchInFlight()
        await gate
        return redisPublisher.publish(messages, context)
      },
    }
    const app = await compile(gated, { batchSize: 5, concurrency: 1 })
    const relay = app.get<Relay>(TXBOX_RELAY)
    const enqueued: string[] = []
    try {
      for (let i = 0; i < 20; i++) enqueued.push(...(await app.get(SignUps).signUp(`user${i}@example.com`)))
      await app.init()
      await inFlight
    } finally {
      let closed = false
      const closing = app.close().then(() => {
        closed = true
      })
      await waitFor(() => !relay.running, { message: 'the application asked the relay to stop' })
      expect(closed).toBe(false) // the batch is still at the gate: close() must wait for it
      openGate()
      await closing
    }
    const published = await publishedIds(stream)
    const remaining = await outboxIds()
    expect(published).toHaveLength(5) // the batch in flight, and no other after stop()
    expect([...published, ...remaining].sort()).toEqual([...enqueued].sort())
  })
})
