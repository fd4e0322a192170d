import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase } from '@txbox/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

// The relay into real Redis Streams, with rows and failures the happy path
// never shows: rows written by other tools, and a stream that refuses entries.

const t = useTestDatabase('relay_redis_promises')
const opts = () => ({ schema: t.schema })
const redis = new Redis(serviceUrls().redisUrl)
const prefix = uniqueName('rrp')
const outbox = () => sql.id(t.schema, 'outbox')
const dead = () => sql.id(t.schema, 'outbox_dead')

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${outbox()}`.execute(t.db)
  await sql`delete from ${dead()}`.execute(t.db)
})
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const entryIds = async (stream: string) =>
  (await redis.xrange(stream, '-', '+')).map(([, fields]) => fields[fields.indexOf('messageId') + 1])

describe('a row written by hand does not stall the batch it is claimed with', () => {
  test('headers that are JSON null, an array, or hold non-string values', async () => {
    const stream = `${prefix}:odd-headers`
    await sql`insert into ${outbox()} (message_id, topic, payload, headers) values
      ('null-headers', 't', '{}', 'null'::jsonb),
      ('array-headers', 't', '{}', '[1, 2]'::jsonb),
      ('number-headers', 't', '{}', '{"a": 1, "b": "x"}'::jsonb),
      ('plain', 't', '{}', null)`.execute(t.db)
    const relay = createRelay({ db: t.db, publisher: redisStreamsPublisher({ redis, stream }), ...opts() })
    expect(await relay.runOnce()).toBe(4)
    expect((await entryIds(stream)).sort()).toEqual(['array-headers', 'null-headers', 'number-headers', 'plain'])
    const entries = await redis.xrange(stream, '-', '+')
    const numbered = entries.find(([, f]) => f.includes('number-headers'))?.[1] ?? []
    expect(JSON.parse(numbered[numbered.indexOf('headers') + 1] as string)).toEqual({ a: '1', b: 'x' })
  })

  test('such a row that fails is put back with its headers as they were', async () => {
    const refusing = `${prefix}:not-a-stream`
    await redis.set(refusing, 'a string: XADD fails with WRONGTYPE')
    await sql`insert into ${outbox()} (message_id, topic, payload, headers) values ('null-headers', 't', '{}', 'null'::jsonb)`.execute(t.db)
    const relay = createRelay({ db: t.db, publisher: redisStreamsPublisher({ redis, stream: refusing }), ...opts(), backoff: () => 60_000 })
    relay.on('failed', () => {})
    expect(await relay.runOnce()).toBe(0)
    const rows = (await sql<{ attempts: number; headers: string }>`select attempts, headers::text as headers from ${outbox()}`.execute(t.db)).rows
    expect(rows).toEqual([{ attempts: 1, headers: 'null' }])
  })
})

describe('with blockKeyOnFailure off, messages Redis held back behind their key are not failed attempts', () => {
  test('the key’s later messages are published on the next cycle, never dead-lettered', async () => {
    // The Redis script stops a key at its first failed XADD: the key's later
    // entries are never sent. They used to count as failed tries (and go dead
    // after maxAttempts) with an error saying they would be retried.
    const good = `${prefix}:good`
    const refusing = `${prefix}:refusing`
    await redis.set(refusing, 'a string: XADD fails with WRONGTYPE')
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        [
          { topic: 'refused', key: 'k', payload: { n: 1 } },
          { topic: 'fine', key: 'k', payload: { n: 2 } },
          { topic: 'fine', key: 'k', payload: { n: 3 } },
        ],
        opts(),
      ),
    )
    const publisher = redisStreamsPublisher({ redis, stream: (m) => (m.topic === 'refused' ? refusing : good) })
    const relay = createRelay({ db: t.db, publisher, ...opts(), blockKeyOnFailure: false, maxAttempts: 1 })
    const deadEvents: string[] = []
    relay.on('dead', (e) => deadEvents.push(e.message.messageId))
    expect(await relay.runOnce()).toBe(0)
    expect(deadEvents).toEqual([ids[0]])
    // Held back, not attempted: still in the outbox, with no attempt counted.
    const rows = (await sql<{ message_id: string; attempts: number }>`select message_id, attempts from ${outbox()} order by id`.execute(t.db)).rows
    expect(rows).toEqual([
      { message_id: ids[1], attempts: 0 },
      { message_id: ids[2], attempts: 0 },
    ])
    expect(await relay.runOnce()).toBe(2)
    expect(await entryIds(good)).toEqual([ids[1], ids[2]])
  })
})
