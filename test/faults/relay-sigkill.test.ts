import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Scenarios 1 and 2 of docs/fault-tests.md: relay processes SIGKILLed at
// random moments while writers commit and roll back; a new one takes over.
const t = useTestDatabase('f_sigkill', { poolSize: 4 })
const urls = serviceUrls()
const BATCH_SIZE = 20
// Batches in flight per relay (the CLI's default): a kill can repeat each of them.
const CONCURRENCY = 2
let redis: Redis
const streams: string[] = []

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  if (streams.length > 0) await redis.del(...streams)
  redis.disconnect()
})

function relayConfig(stream: string) {
  return { databaseUrl: t.url, schema: t.schema, redisUrl: urls.redisUrl, stream, batchSize: BATCH_SIZE, concurrency: CONCURRENCY, applicationName: uniqueName('relay_kill') }
}

const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length))

describe('relay killed with SIGKILL', () => {
  it('loses nothing, publishes nothing rolled back and keeps per-key order across 20 kills, at most one batch duplicated per kill', { timeout: 90_000 }, async () => {
    const KILLS = 20
    const stream = uniqueName('sigkill')
    streams.push(stream)
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
    const recoveries: number[] = []
    let relay: RelayProcess | undefined
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const killedAt = Date.now()
        relay = await RelayProcess.startCli(relayConfig(stream))
        await relay.waitReady()
        // Strike while it works: after it published something, at a random moment.
        await relay.waitPublishedMoreThan(0)
        if (kill > 0) recoveries.push(Date.now() - killedAt)
        await pause(Math.floor(Math.random() * 150))
        await relay.kill()
      }
    } finally {
      await writers.stop()
      await relay?.kill()
    }

    const survivor = await RelayProcess.startCli(relayConfig(stream))
    try {
      await survivor.waitReady()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream, history: writers.ledger })
      expectInvariants(
        'sigkill',
        result,
        { kills: KILLS, transactions: writers.ledger.transactions, batchSize: BATCH_SIZE, maxRecoveryMs: Math.max(...recoveries), meanRecoveryMs: mean(recoveries) },
        { maxDuplicates: KILLS * BATCH_SIZE * CONCURRENCY, minCommitted: KILLS * 5 },
      )
    } finally {
      await survivor.stop()
    }
  })

  it('four relays at once, one killed now and then: nothing lost or phantom, per-key order held', { timeout: 90_000 }, async () => {
    const KILLS = 8
    const stream = uniqueName('four')
    streams.push(stream)
    const keys = Array.from({ length: 24 }, (_, i) => `k${i}`)
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys, pauseMs: 5 })
    const relays: RelayProcess[] = []
    const recoveries: number[] = []
    try {
      for (let i = 0; i < 4; i++) relays.push(await RelayProcess.startCli(relayConfig(stream)))
      await Promise.all(relays.map((r) => r.waitReady()))
      for (let kill = 0; kill < KILLS; kill++) {
        const victimIndex = Math.floor(Math.random() * relays.length)
        const victim = relays[victimIndex] as RelayProcess
        await victim.waitPublishedMoreThan(0)
        await pause(Math.floor(Math.random() * 300))
        const killedAt = Date.now()
        await victim.kill()
        const others = relays.filter((r) => r !== victim)
        const before = others.reduce((sum, r) => sum + r.published, 0)
        // The survivors go on while the victim is down.
        await waitFor(() => others.reduce((sum, r) => sum + r.published, 0) > before, { timeoutMs: 10_000, message: 'survivors publishing' })
        recoveries.push(Date.now() - killedAt)
        const replacement = await RelayProcess.startCli(relayConfig(stream))
        relays[victimIndex] = replacement
        await replacement.waitReady()
      }
      await writers.stop()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream, history: writers.ledger })
      expectInvariants(
        'four relays',
        result,
        { relays: 4, kills: KILLS, transactions: writers.ledger.transactions, batchSize: BATCH_SIZE, maxSurvivorPublishMs: Math.max(...recoveries) },
        { maxDuplicates: KILLS * BATCH_SIZE * CONCURRENCY, minCommitted: 200 },
      )
    } finally {
      await writers.stop()
      await Promise.all(relays.map((r) => r.stop()))
    }
  })
})
