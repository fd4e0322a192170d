import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatReport } from '../support/invariants.js'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Scenario 1 of docs/fault-tests.md: the relay process is SIGKILLed at random
// moments while writers commit and roll back; a new one takes over each time.
const t = useTestDatabase('f_sigkill', { poolSize: 4 })
const urls = serviceUrls()
const stream = uniqueName('sigkill')
const appName = uniqueName('relay_sigkill')
const BATCH_SIZE = 20
const KILLS = 20
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  await redis.del(stream)
  redis.disconnect()
})

const relayConfig = () => ({
  databaseUrl: t.url,
  schema: t.schema,
  redisUrl: urls.redisUrl,
  stream,
  batchSize: BATCH_SIZE,
  applicationName: appName,
})

describe('relay killed with SIGKILL', () => {
  it(`loses nothing, publishes nothing rolled back and keeps per-key order across ${KILLS} kills`, { timeout: 90_000 }, async () => {
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
    const recoveries: number[] = []
    let relay: RelayProcess | undefined
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const killedAt = Date.now()
        relay = await RelayProcess.start(relayConfig())
        await relay.waitReady()
        const current = relay
        // Strike while it works: after it published something, at a random moment.
        await waitFor(() => current.published > 0, { timeoutMs: 15_000, message: `relay ${kill} publishing (stderr: ${current.errors})` })
        if (kill > 0) recoveries.push(Date.now() - killedAt)
        await pause(Math.floor(Math.random() * 150))
        await relay.kill()
      }
    } finally {
      await writers.stop()
      await relay?.kill()
    }

    const survivor = await RelayProcess.start(relayConfig())
    let result: Awaited<ReturnType<typeof drainAndCheck>>
    try {
      await survivor.waitReady()
      result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream, history: writers.ledger })
    } finally {
      await survivor.stop()
    }

    const { report } = result
    console.log(
      formatReport('sigkill', report, {
        kills: KILLS,
        transactions: writers.ledger.transactions,
        batchSize: BATCH_SIZE,
        maxRecoveryMs: Math.max(...recoveries),
        meanRecoveryMs: Math.round(recoveries.reduce((a, b) => a + b, 0) / recoveries.length),
        drainMs: result.drainMs,
        dead: result.dead,
      }),
    )
    expect(writers.ledger.committed.length).toBeGreaterThan(KILLS * 5)
    expect(report.lost).toEqual([])
    expect(report.phantom).toEqual([])
    expect(report.orderViolations).toEqual([])
    expect(report.duplicates).toBeLessThanOrEqual(KILLS * BATCH_SIZE)
    expect(result.dead).toBe(0)
    expect(result.outboxLeft).toBe(0)
  })
})
