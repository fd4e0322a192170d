import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, pause } from '../support/scenario.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'
import { startWriters } from '../support/writers.js'

// Scenario 6 of docs/fault-tests.md: the network between the relay and each
// service is cut, through TCP proxies the relay connects by. A cut either
// drops the connections and refuses new ones for a while (a link down), or
// stalls them (packets held, connections open) and resumes.
const t = useTestDatabase('f_netcut', { poolSize: 4 })
const urls = serviceUrls()
let pgProxy: TcpProxy
let redisProxy: TcpProxy
let redis: Redis
const streams: string[] = []

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  const pgUrl = new URL(t.url)
  const redisUrl = new URL(urls.redisUrl)
  pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) })
  redisProxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  if (streams.length > 0) await redis.del(...streams)
  redis.disconnect()
  await pgProxy?.close()
  await redisProxy?.close()
})

/** The service URL with its host and port replaced by the proxy's. */
function through(proxy: TcpProxy, url: string): string {
  const u = new URL(url)
  u.hostname = '127.0.0.1'
  u.port = String(proxy.port)
  return u.toString()
}

type Cut = 'drop' | 'stall'
const CUT_MS = 2000

for (const service of ['postgres', 'redis'] as const) {
  describe(`network cut between the relay and ${service}`, () => {
    it('nothing lost or phantom and per-key order held across drops and stalls', { timeout: 60_000 }, async () => {
      const stream = uniqueName(`netcut_${service}`)
      streams.push(stream)
      const proxy = service === 'postgres' ? pgProxy : redisProxy
      const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
      const relay = await RelayProcess.startScript({
        databaseUrl: service === 'postgres' ? through(pgProxy, t.url) : t.url,
        schema: t.schema,
        redisUrl: service === 'redis' ? through(redisProxy, urls.redisUrl) : urls.redisUrl,
        stream,
        batchSize: 20,
        applicationName: uniqueName(`relay_netcut_${service}`),
        publishTimeout: 1000,
      })
      const cuts: Cut[] = ['drop', 'stall', 'drop', 'stall']
      const recoveries: number[] = []
      try {
        await relay.waitReady()
        for (const cut of cuts) {
          await relay.waitPublishedMoreThan(relay.published)
          await pause(Math.floor(Math.random() * 100))
          if (cut === 'drop') {
            proxy.refuse(true)
            proxy.dropAll()
          } else {
            proxy.stall()
          }
          await pause(CUT_MS)
          const publishedDuringCut = relay.published
          const healedAt = Date.now()
          if (cut === 'drop') proxy.refuse(false)
          else proxy.resume()
          await relay.waitPublishedMoreThan(publishedDuringCut, 30_000)
          recoveries.push(Date.now() - healedAt)
        }
        await writers.stop()
        const result = await drainAndCheck({ db: t.db, schema: t.schema, redis, stream, history: writers.ledger, timeoutMs: 30_000 })
        expectInvariants(`network cut ${service}`, result, {
          cuts: cuts.join('+'),
          cutMs: CUT_MS,
          transactions: writers.ledger.transactions,
          maxRecoveryMs: Math.max(...recoveries),
        })
      } finally {
        await writers.stop()
        proxy.refuse(false)
        proxy.resume()
        await relay.stop()
      }
    })
  })
}
