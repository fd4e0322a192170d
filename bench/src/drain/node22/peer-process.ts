// The child process the bench starts under Node 22 to run one peer that
// needs it (graphile-worker 0.18, pg-boss 12): the same competitor code as
// the Node 20 peers, with the newer library, draining into the same Redis.
// It answers the parent's { id, op, round } messages with { id, ok, error }.
import type { BenchConfig } from '../../support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName } from '../../support/db.js'
import { type GraphileWorkerLibrary, graphileWorker } from '../competitors/graphile-worker.js'
import { pgBoss } from '../competitors/pg-boss.js'
import { redisStreams } from '../destinations/redis-streams.js'
import type { CompetitorFactory, DrainCompetitor, DrainRound } from '../drain-competitor.js'
import { pgBoss12 } from './pg-boss-12.js'

export type PeerRequest = { readonly id: number; readonly op: 'setUp' | 'load' | 'drain' | 'tearDown'; readonly round?: DrainRound }
export type PeerReply = { readonly ready: true; readonly name: string; readonly notes: string } | { readonly id: number; readonly ok: boolean; readonly error?: string }

const SUFFIX = ' (Node 22)'

async function factoryFor(which: string): Promise<CompetitorFactory> {
  if (which === 'graphile-worker') {
    const library = (await import('graphile-worker-0.18')) as unknown as GraphileWorkerLibrary
    return graphileWorker({ library, specifier: 'graphile-worker-0.18', suffix: SUFFIX })
  }
  if (which === 'pg-boss') return pgBoss({ driver: pgBoss12(), suffix: SUFFIX })
  throw new Error(`unknown Node 22 peer "${which}"`)
}

async function main(): Promise<void> {
  const which = process.argv[2] as string
  const config = JSON.parse(process.env.TXBOX_BENCH_CONFIG as string) as BenchConfig
  const benchmark = process.env.TXBOX_BENCH_NAME as string
  const pool = createPool(config, 6)
  const db = kyselyOn(pool)
  const destination = await redisStreams(config, { ownsRunKeys: false })
  const schemas = new Set<string>()
  const competitor: DrainCompetitor = (await factoryFor(which))({
    config,
    pool,
    db,
    destination,
    schema(what) {
      const name = schemaName(config, `${benchmark}_${what}`)
      schemas.add(name)
      return name
    },
  })
  const send = (reply: PeerReply) => process.send?.(reply)
  process.on('message', async (request: PeerRequest) => {
    try {
      if (request.op === 'tearDown') {
        await competitor.tearDown?.()
        for (const schema of schemas) await dropSchema(pool, schema).catch(() => {})
        await destination.close()
        await db.destroy()
      } else if (request.op === 'setUp') {
        await competitor.setUp?.()
      } else {
        await competitor[request.op](request.round as DrainRound)
      }
      send({ id: request.id, ok: true })
      if (request.op === 'tearDown') process.disconnect()
    } catch (error) {
      send({ id: request.id, ok: false, error: (error as Error)?.stack ?? String(error) })
    }
  })
  send({ ready: true, name: competitor.name, notes: competitor.notes })
}

await main()
