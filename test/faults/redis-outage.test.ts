import { migrate } from '@txbox/core'
import { uniqueName, useTestDatabase } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type OwnRedisServer, startOwnRedisServer } from '../support/redis-server.js'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, outboxCounts, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Scenario 4 of docs/fault-tests.md: the broker goes away for 10 s (a
// redis-server this file starts on its own port is SIGKILLed) and comes back
// on the same port, while writers go on committing.
const t = useTestDatabase('f_redis_down', { poolSize: 4 })
const stream = uniqueName('redis_down')
const OUTAGE_MS = 10_000
let server: OwnRedisServer

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  server = await startOwnRedisServer()
})
afterAll(async () => {
  await server?.close()
})

describe('Redis down for 10 s', () => {
  it('the relay holds messages while Redis is down and delivers all of them, in per-key order, once it is back', { timeout: 60_000 }, async () => {
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
    const relay = await RelayProcess.startScript({
      databaseUrl: t.url,
      schema: t.schema,
      redisUrl: server.url,
      stream,
      batchSize: 20,
      applicationName: uniqueName('relay_redis_down'),
      publishTimeout: 1000,
    })
    const reader = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 3 })
    try {
      await relay.waitReady()
      await relay.waitPublishedMoreThan(20)
      await server.kill()
      const downAt = Date.now()
      await pause(OUTAGE_MS)
      const backlogDuringOutage = (await outboxCounts(t.db, t.schema)).outbox
      const publishedBeforeRestart = relay.published
      await server.start()
      const restartedAt = Date.now()
      await relay.waitPublishedMoreThan(publishedBeforeRestart, 30_000)
      const recoveryMs = Date.now() - restartedAt
      await writers.stop()
      await reader.connect()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, redis: reader, stream, history: writers.ledger, timeoutMs: 30_000 })
      expect(backlogDuringOutage, 'messages waiting in the outbox during the outage').toBeGreaterThan(0)
      expectInvariants('redis down', result, {
        outageMs: restartedAt - downAt,
        backlogDuringOutage,
        transactions: writers.ledger.transactions,
        recoveryMs,
      })
    } finally {
      await writers.stop()
      await relay.stop()
      reader.disconnect()
    }
  })
})
