import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type OwnRedisServer, startOwnRedisServer } from '../support/redis-server.js'

// Redis at maxmemory (noeviction) refuses every write with -OOM until memory
// is freed: an outage of the broker, not a fault of any message. It must cost
// no attempts (docs/guarantees.md §3: "an outage of any length never moves a
// message to the dead letters").
const t = useTestDatabase('f_redis_oom')
const stream = uniqueName('redis_oom')
let server: OwnRedisServer
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  server = await startOwnRedisServer()
  redis = new Redis(server.url, { maxRetriesPerRequest: 3 })
})
afterAll(async () => {
  redis?.disconnect()
  await server?.close()
})

const count = async (table: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${t.schema}.${table}`)}`.execute(t.db)).rows[0]?.n ?? 0

describe('Redis out of memory', () => {
  it('spends no attempts: nothing is dead-lettered, and everything is delivered once memory is freed', { timeout: 30_000 }, async () => {
    const relay = createRelay({
      db: t.db,
      publisher: redisStreamsPublisher({ redis, stream }),
      schema: t.schema,
      maxAttempts: 3,
      backoff: { initialDelay: 1, maxDelay: 5 },
    })
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        [1, 2, 3, 4].map((n) => ({ topic: 'orders', key: `k${n % 2}`, payload: { n } })),
        { schema: t.schema },
      ),
    )
    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    await redis.config('SET', 'maxmemory', '1')
    // Longer than maxAttempts × the backoff allows.
    for (let i = 0; i < 10; i++) await relay.runOnce()
    expect(await count('outbox_dead')).toBe(0)
    await redis.config('SET', 'maxmemory', '0')
    await waitFor(async () => (await relay.runOnce()) === 0 && (await count('outbox')) === 0, { timeoutMs: 10_000 })
    const entries = await redis.xrange(stream, '-', '+')
    expect(entries.map(([, fields]) => fields[1])).toEqual(ids)
  })
})
