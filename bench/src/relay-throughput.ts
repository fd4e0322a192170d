import { createRelay, migrate, type Relay } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { run } from 'graphile-worker'
import type PgBoss from 'pg-boss'
import { bareOutboxDdl, runBareRedisLoop } from './support/bare-redis-loop.js'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName, vacuum } from './support/db.js'
import { fillOutbox, PAYLOAD_SQL } from './support/outbox-fill.js'
import { installGraphileWorker, quietLogger } from './support/peers/graphile-peer.js'
import { startPgBoss } from './support/peers/pg-boss-peer.js'
import { createRedis, deleteRunKeys, streamName } from './support/redis.js'
import { interleavedRounds } from './support/rounds.js'
import { formatNumber, formatSummary, pairedRatio, round, summarize } from './support/stats.js'

const COMPETITORS = ['txbox, 1 relay', 'txbox, 4 relays', 'bare loop', 'graphile-worker', 'pg-boss'] as const
type Competitor = (typeof COMPETITORS)[number]
const BATCH = 500
const GRAPHILE = { concurrency: 16, localQueueSize: 500, completeJobBatchDelay: 1 }
const PGBOSS = { batchSize: 5000, workers: 2 }
const DRAIN_TIMEOUT_MS = 600_000

/**
 * Drains the same backlog into a Redis stream with each competitor, in
 * interleaved rounds. Each run: load N messages (untimed), VACUUM (ANALYZE)
 * the table (untimed), start the drainer, stop the clock when the last
 * message is confirmed by Redis, check the stream holds exactly N entries.
 */
export const relayThroughput: Benchmark = {
  name: 'relay',
  title: 'Relay throughput to Redis Streams: txbox vs the bare loop vs graphile-worker and pg-boss',
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const count = config.quick ? 20_000 : 200_000
    const rounds = config.quick ? 3 : 5
    const schema = schemaName(config, 'relay')
    const graphileSchema = schemaName(config, 'relay_graphile')
    const bossSchema = schemaName(config, 'relay_pgboss')
    const pool = createPool(config, 6, schema)
    const db = kyselyOn(pool)
    const names = { outbox: `"${schema}".outbox`, bare: `"${schema}".bare_outbox`, graphileJobs: `"${graphileSchema}"._private_jobs` }
    const redis = createRedis(config)
    const relayRedis = Array.from({ length: 4 }, () => createRedis(config))
    const peerRedis = createRedis(config, { autoPipelining: true })
    let boss: PgBoss | undefined
    let seq = 0
    try {
      await migrate(db, { schema })
      await pool.query(bareOutboxDdl(names.bare))
      await installGraphileWorker(pool, graphileSchema)
      boss = await startPgBoss(config, bossSchema, 'xadd')

      const drains: Record<Competitor, (stream: string) => Promise<void>> = {
        'txbox, 1 relay': (stream) => drainWithRelays(1, stream),
        'txbox, 4 relays': (stream) => drainWithRelays(4, stream),
        'bare loop': async () => {
          const n = await runBareRedisLoop(pool, names.bare, redis, BATCH)
          if (n !== count) throw new Error(`bare loop published ${n} of ${count}`)
        },
        'graphile-worker': (stream) => drainWithGraphile(stream),
        'pg-boss': (stream) => drainWithPgBoss(boss as PgBoss, stream),
      }

      async function drainWithRelays(n: number, stream: string): Promise<void> {
        const relays: Relay[] = relayRedis.slice(0, n).map((r) => createRelay({ db, publisher: redisStreamsPublisher({ redis: r }), schema, batchSize: BATCH }))
        let published = 0
        await untilCount(async (done) => {
          for (const relay of relays) {
            relay.on('published', ({ messages }) => {
              published += messages.length
              if (published >= count) done()
            })
            relay.on('error', (error) => console.error('[bench] relay error:', error.message))
          }
          await Promise.all(relays.map((r) => r.start()))
        })
        await Promise.all(relays.map((r) => r.stop()))
        if (published !== count) throw new Error(`txbox published ${published} of ${count} (${stream})`)
      }

      async function drainWithGraphile(stream: string): Promise<void> {
        let done = 0
        let runner: Awaited<ReturnType<typeof run>> | undefined
        await untilCount(async (finish) => {
          runner = await run({
            pgPool: pool,
            schema: graphileSchema,
            concurrency: GRAPHILE.concurrency,
            noHandleSignals: true,
            pollInterval: 1000,
            logger: quietLogger,
            preset: { worker: { localQueue: { size: GRAPHILE.localQueueSize }, completeJobBatchDelay: GRAPHILE.completeJobBatchDelay, failJobBatchDelay: GRAPHILE.completeJobBatchDelay } },
            taskList: {
              xadd: async (payload: any, helpers) => {
                await peerRedis.xadd(stream, '*', 'messageId', String(helpers.job.id), 'topic', stream, 'payload', JSON.stringify(payload.p), 'key', payload.k)
                if (++done >= count) finish()
              },
            },
          })
        })
        await runner?.stop()
      }

      async function drainWithPgBoss(b: PgBoss, stream: string): Promise<void> {
        let done = 0
        const ids: string[] = []
        await untilCount(async (finish) => {
          for (let w = 0; w < PGBOSS.workers; w++) {
            ids.push(
              await b.work<{ p: unknown; k: string }>('xadd', { batchSize: PGBOSS.batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
                const pipeline = peerRedis.pipeline()
                for (const job of jobs) pipeline.xadd(stream, '*', 'messageId', job.id, 'topic', stream, 'payload', JSON.stringify(job.data.p), 'key', job.data.k)
                const replies = await pipeline.exec()
                if (!replies || replies.some(([e]) => e)) throw new Error('XADD failed')
                done += jobs.length
                if (done >= count) finish()
              }),
            )
          }
        })
        for (const id of ids) await b.offWork({ id })
        // pg-boss marks a batch completed after its handler returned: wait for
        // that (untimed) before the next load empties the table.
        const deadline = Date.now() + 30_000
        while (Date.now() < deadline) {
          const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${bossSchema}".job WHERE state <> 'completed'`)
          if (rows[0].n === 0) break
          await new Promise((r) => setTimeout(r, 20))
        }
      }

      async function load(competitor: Competitor, stream: string): Promise<void> {
        const from = seq
        seq += count
        if (competitor.startsWith('txbox')) {
          await fillOutbox(pool, names.outbox, count, { topic: stream, from })
          await vacuum(pool, names.outbox)
        } else if (competitor === 'bare loop') {
          await fillOutbox(pool, names.bare, count, { topic: stream, from })
          await vacuum(pool, names.bare)
        } else if (competitor === 'graphile-worker') {
          for (let s = from; s < from + count; s += 20_000) {
            await pool.query(
              `SELECT "${graphileSchema}".add_jobs(ARRAY(
                 SELECT ROW('xadd', json_build_object('p', ${PAYLOAD_SQL}, 'k', 'key-' || (g % 100)), NULL, NULL, NULL, NULL, NULL, NULL)::"${graphileSchema}".job_spec
                 FROM generate_series($1::bigint, $2::bigint) g))`,
              [s, Math.min(from + count, s + 20_000) - 1],
            )
          }
          await vacuum(pool, names.graphileJobs)
        } else {
          await pool.query(`DELETE FROM "${bossSchema}".job`)
          for (let s = from; s < from + count; s += 10_000) {
            const jobs = []
            for (let g = s; g < Math.min(from + count, s + 10_000); g++) jobs.push({ name: 'xadd', data: { p: { n: g, pad: 'x'.repeat(50) }, k: `key-${g % 100}` } })
            await (boss as PgBoss).insert(jobs)
          }
          await vacuum(pool, `"${bossSchema}".job`)
        }
      }

      log(`  ${formatNumber(count)} messages, 100 keys, ${rounds} rounds × ${COMPETITORS.length} competitors`)
      const rates = await interleavedRounds(rounds, COMPETITORS, async (competitor, r) => {
        const stream = streamName(config, `relay-${r}-${competitor.replace(/\W+/g, '-')}`)
        await load(competitor, stream)
        const t0 = performance.now()
        await drains[competitor](stream)
        const rate = count / ((performance.now() - t0) / 1000)
        const length = await redis.xlen(stream)
        await redis.del(stream)
        if (length !== count) throw new Error(`${competitor}: the stream holds ${length} entries, expected ${count}`)
        log(`    round ${r + 1} ${competitor}: ${formatNumber(rate)} msg/s`)
        return rate
      })

      const bare = rates['bare loop']
      const txbox = rates['txbox, 1 relay']
      const rows = COMPETITORS.map((c) => [c, formatSummary(summarize(rates[c])), formatSummary(pairedRatio(rates[c], bare), 2), formatSummary(pairedRatio(txbox, rates[c]), 2)])
      return {
        tables: [
          {
            title: `Messages/s draining ${formatNumber(count)} messages into a Redis stream (median of ${rounds} rounds, range)`,
            headers: ['drainer', 'msg/s', '÷ bare loop', 'txbox (1 relay) ÷ this'],
            rows,
          },
        ],
        notes: [
          `txbox: createRelay({ batchSize: ${BATCH} }) with redisStreamsPublisher, defaults otherwise (per-key order, blockKeyOnFailure on); "4 relays" = 4 relay instances on one pool, each with its own Redis connection.`,
          `bare loop: one connection, DELETE … WHERE id IN (SELECT id … ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED) RETURNING (a prepared statement), one pipelined XADD per row, COMMIT; on a plain table of the outbox's shape.`,
          `graphile-worker 0.17.3: concurrency ${GRAPHILE.concurrency}, localQueue.size ${GRAPHILE.localQueueSize}, completeJobBatchDelay ${GRAPHILE.completeJobBatchDelay} ms (batched completion); one XADD per job over an auto-pipelined ioredis client. Jobs have no queue_name, so no per-key order.`,
          `pg-boss 10.4.2: ${PGBOSS.workers} work() loops with batchSize ${PGBOSS.batchSize}, one pipelined XADD per batch; no per-key order.`,
          'Each drain starts on a freshly loaded and explicitly VACUUM (ANALYZE)d table (autovacuum is off here). The clock runs from starting the drainer to the last confirmed XADD; every stream is checked to hold exactly N entries.',
          'relay_vs_bare_redis = txbox (1 relay) ÷ bare loop; relay_vs_graphile / relay_vs_pgboss = txbox (1 relay) ÷ the peer; all medians of per-round ratios.',
        ],
        figures: {
          relay_msgs_per_s: Math.round(summarize(txbox).median),
          relay_4_msgs_per_s: Math.round(summarize(rates['txbox, 4 relays']).median),
          bare_redis_msgs_per_s: Math.round(summarize(bare).median),
          relay_vs_bare_redis: round(pairedRatio(txbox, bare).median, 3),
          relay_4_vs_bare_redis: round(pairedRatio(rates['txbox, 4 relays'], bare).median, 3),
          relay_vs_graphile: round(pairedRatio(txbox, rates['graphile-worker']).median, 3),
          relay_vs_pgboss: round(pairedRatio(txbox, rates['pg-boss']).median, 3),
        },
      }
    } finally {
      await boss?.stop({ graceful: false, wait: true }).catch(() => {})
      await deleteRunKeys(redis, config).catch(() => {})
      for (const client of [redis, peerRedis, ...relayRedis]) client.disconnect()
      for (const s of [schema, graphileSchema, bossSchema]) await dropSchema(pool, s).catch(() => {})
      await db.destroy()
    }
  },
}

/** Resolves once `start` calls its `done`, or rejects after the drain timeout. */
function untilCount(start: (done: () => void) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drain did not finish within ${DRAIN_TIMEOUT_MS} ms`)), DRAIN_TIMEOUT_MS)
    start(() => {
      clearTimeout(timer)
      resolve()
    }).catch((error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}
