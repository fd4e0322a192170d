import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase } from '@txbox/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Scenario 3 of docs/fault-tests.md: the relay's database sessions are
// terminated by the server (pg_terminate_backend) while it works. Only the
// relay's own sessions are touched: they carry an application_name unique to
// this file.
const t = useTestDatabase('f_terminate', { poolSize: 4 })
const urls = serviceUrls()
const stream = uniqueName('terminate')
const applicationName = uniqueName('relay_terminate')
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  await redis.del(stream)
  redis.disconnect()
})

async function terminateRelaySessions(): Promise<number> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where application_name = ${applicationName} and pid <> pg_backend_pid()`.execute(t.db)
  for (const { pid } of rows) await sql`select pg_terminate_backend(${pid})`.execute(t.db)
  return rows.length
}

describe('relay whose database sessions are terminated', () => {
  it('recovers each time and loses nothing, publishes nothing rolled back, keeps per-key order', { timeout: 60_000 }, async () => {
    const TERMINATIONS = 10
    const BATCH_SIZE = 20
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], pauseMs: 5 })
    const relay = await RelayProcess.startCli({ databaseUrl: t.url, schema: t.schema, redisUrl: urls.redisUrl, stream, batchSize: BATCH_SIZE, applicationName })
    const recoveries: number[] = []
    let sessionsKilled = 0
    try {
      await relay.waitReady()
      for (let i = 0; i < TERMINATIONS; i++) {
        await relay.waitPublishedMoreThan(relay.published)
        await pause(Math.floor(Math.random() * 200))
        const terminatedAt = Date.now()
        sessionsKilled += await terminateRelaySessions()
        await relay.waitPublishedMoreThan(relay.published)
        recoveries.push(Date.now() - terminatedAt)
      }
      await writers.stop()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream, history: writers.ledger })
      expect(relay.alive).toBe(true)
      expect(sessionsKilled).toBeGreaterThanOrEqual(TERMINATIONS)
      expectInvariants(
        'backends terminated',
        result,
        { terminations: TERMINATIONS, sessionsKilled, transactions: writers.ledger.transactions, maxRecoveryMs: Math.max(...recoveries) },
        { maxDuplicates: TERMINATIONS * BATCH_SIZE, minCommitted: 100 },
      )
    } finally {
      await writers.stop()
      await relay.stop()
    }
  })
})
