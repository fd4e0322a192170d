import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, pause } from '../support/scenario.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { startWriters } from '../support/writers.js'

// Scenario 3 of docs/fault-tests.md: the relay's database sessions are
// terminated by the server (pg_terminate_backend) while it works. Only the
// relay's own sessions are touched: they carry an application_name unique to
// this file.
const t = useTestDatabase('f_terminate', { poolSize: 4 })
const urls = serviceUrls()
const stream = uniqueName('terminate')
const streams = [stream]
const applicationName = uniqueName('relay_terminate')
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  await redis.del(...streams)
  redis.disconnect()
})

async function terminateRelaySessions(name = applicationName): Promise<number> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where application_name = ${name} and pid <> pg_backend_pid()`.execute(t.db)
  for (const { pid } of rows) await sql`select pg_terminate_backend(${pid})`.execute(t.db)
  return rows.length
}

describe('relay whose database sessions are terminated', () => {
  it('recovers each time and loses nothing, publishes nothing rolled back, keeps per-key order', { timeout: 60_000 }, async () => {
    const TERMINATIONS = 10
    const BATCH_SIZE = 20
    const CONCURRENCY = 2 // batches in flight: a termination can repeat each of them
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], pauseMs: 5 })
    const relay = await RelayProcess.startCli({ databaseUrl: t.url, schema: t.schema, redisUrl: urls.redisUrl, stream, batchSize: BATCH_SIZE, concurrency: CONCURRENCY, applicationName })
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
        { maxDuplicates: TERMINATIONS * BATCH_SIZE * CONCURRENCY, minCommitted: 100 },
      )
    } finally {
      await writers.stop()
      await relay.stop()
    }
  })

  it.each([
    { listen: true, command: 'txbox relay' },
    { listen: false, command: 'txbox relay --no-listen' },
  ])('$command survives a termination while its transaction waits on the broker, and loses nothing', { timeout: 60_000 }, async ({ listen }) => {
    // The relay holds its transaction open while it publishes. Stalling the
    // link to Redis keeps it there, so the termination lands on a connection
    // that is checked out but between queries.
    const name = uniqueName('relay_terminate_publish')
    const stallStream = uniqueName('terminate_publish')
    streams.push(stallStream)
    const redisUrl = new URL(urls.redisUrl)
    const proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) })
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3'], pauseMs: 10 })
    const relay = await RelayProcess.startCli({
      databaseUrl: t.url,
      schema: t.schema,
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      stream: stallStream,
      batchSize: 20,
      applicationName: name,
      listen,
    })
    try {
      await relay.waitReady()
      await relay.waitPublishedMoreThan(0)
      proxy.stall()
      await waitFor(
        async () => {
          const { rows } = await sql<{ n: string }>`
            select count(*) as n from pg_stat_activity where application_name = ${name} and state = 'idle in transaction'`.execute(t.db)
          return Number(rows[0]?.n) > 0
        },
        { timeoutMs: 10_000, message: 'the relay waiting on Redis inside its transaction' },
      )
      const terminated = await terminateRelaySessions(name)
      const publishedBefore = relay.published
      proxy.resume()
      await relay.waitPublishedMoreThan(publishedBefore, 20_000).catch((error) => {
        throw relay.alive ? error : new Error(`the relay process exited after its database session was terminated; its output: ${relay.errors}`)
      })
      await writers.stop()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream: stallStream, history: writers.ledger })
      expect(relay.alive, `the relay process exited; its output: ${relay.errors}`).toBe(true)
      expectInvariants('backend terminated mid-publish', result, { listen: String(listen), terminated, transactions: writers.ledger.transactions })
    } finally {
      await writers.stop()
      proxy.resume()
      await relay.stop()
      await proxy.close()
    }
  })
})
