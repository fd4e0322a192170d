import { createRelay, enqueueOnCommit, migrate, type NotifyMode, withTransaction } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName, vacuum } from './support/db.js'
import { createRedis, deleteRunKeys, streamName } from './support/redis.js'
import { formatNumber, quantile, round } from './support/stats.js'

const RATES = [100, 1000, 5000] as const
const MODES = {
  'after-commit signal (default)': { notify: 'after-commit', listen: true, tag: 'after_commit' },
  "relay in the writers' process, no listen": { notify: 'after-commit', listen: false, tag: 'in_process' },
  'NOTIFY in the transaction': { notify: 'in-transaction', listen: true, tag: 'in_tx' },
  'polling only (1 s)': { notify: false, listen: false, tag: 'polling' },
} as const satisfies Record<string, { notify: NotifyMode; listen: boolean; tag: string }>
type Mode = keyof typeof MODES
const PRODUCERS = 8

/**
 * Commit → entry in Redis. Producers commit one message per transaction at a
 * fixed offered rate (open loop: a late transaction does not delay the next);
 * the time of each commit is taken when withTransaction resolves, and a
 * reader on the stream (XREAD BLOCK) takes the time each entry arrives. Both
 * clocks are this process's. A relay with default options runs throughout.
 */
export const latency: Benchmark = {
  name: 'latency',
  title: 'Latency commit → entry in Redis, by offered load and wake-up signal',
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const durationMs = config.quick ? 2000 : 8000
    const warmupMs = config.quick ? 300 : 1000
    const schema = schemaName(config, 'latency')
    const pool = createPool(config, PRODUCERS + 3, schema)
    const db = kyselyOn(pool)
    const redis = createRedis(config)
    const reader = createRedis(config)
    const rows: string[][] = []
    const figures: Record<string, number> = {}
    try {
      await migrate(db, { schema })
      for (const rate of RATES) {
        for (const mode of Object.keys(MODES) as Mode[]) {
          const { notify, listen, tag } = MODES[mode]
          const stream = streamName(config, `latency-${rate}-${tag}`)
          const relay = createRelay({ db, publisher: redisStreamsPublisher({ redis, stream }), schema, ...(listen ? { listen: pool } : {}) })
          await relay.start()
          const committedAt = new Map<string, number>()
          const samples: number[] = []
          let reading = true
          let lastId = '$'
          const readerDone = (async () => {
            while (reading) {
              const reply = (await reader.xread('COUNT', 1000, 'BLOCK', 100, 'STREAMS', stream, lastId)) as [string, [string, string[]][]][] | null
              const seen = performance.now()
              for (const [, entries] of reply ?? []) {
                for (const [id, fields] of entries) {
                  lastId = id
                  const messageId = fields[fields.indexOf('messageId') + 1] as string
                  const at = committedAt.get(messageId)
                  if (at !== undefined && at >= 0) samples.push(seen - at)
                  committedAt.delete(messageId)
                }
              }
            }
          })()
          // Open loop: message i is due at start + i / rate; PRODUCERS transactions at most in flight.
          const start = performance.now()
          const total = Math.round((rate * durationMs) / 1000)
          let next = 0
          let late = 0
          await Promise.all(
            Array.from({ length: PRODUCERS }, async () => {
              // Capped in time too: where the machine cannot commit the offered rate, the cell still ends.
              while (next < total && performance.now() < start + durationMs) {
                const i = next++
                const due = start + (i * 1000) / rate
                const wait = due - performance.now()
                if (wait > 1) await new Promise((r) => setTimeout(r, wait))
                else if (wait < -10) late += 1
                const [messageId] = await withTransaction(db, (trx) => enqueueOnCommit(trx, { topic: 'bench.latency', key: `k${i % 100}`, payload: { i } }, { schema, notify }))
                // Commits of the warm-up are marked and dropped by the reader.
                const at = performance.now()
                committedAt.set(messageId as string, at - start < warmupMs ? -1 : at)
              }
            }),
          )
          const offeredFor = (performance.now() - start) / 1000
          const deadline = performance.now() + 5000
          while ([...committedAt.values()].some((v) => v >= 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
          reading = false
          await readerDone
          await relay.stop()
          await redis.del(stream)
          const achieved = next / offeredFor
          const p50 = quantile(samples, 0.5)
          const p99 = quantile(samples, 0.99)
          rows.push([formatNumber(rate), mode, formatNumber(achieved), String(samples.length), p50.toFixed(1), p99.toFixed(1), samples.length > 0 ? formatNumber(Math.max(...samples), 1) : '–', String(late)])
          log(`  ${rate} msg/s, ${mode}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${formatNumber(achieved)} msg/s committed)`)
          figures[`latency_${rate}_${tag}_p50_ms`] = round(p50, 2)
          figures[`latency_${rate}_${tag}_p99_ms`] = round(p99, 2)
          if (rate === 1000 && tag === 'after_commit') {
            figures.latency_p50_ms = round(p50, 2)
            figures.latency_p99_ms = round(p99, 2)
          }
          await pool.query(`TRUNCATE "${schema}".outbox`)
          await vacuum(pool, `"${schema}".outbox`)
        }
      }
      return {
        tables: [
          {
            title: `Commit → Redis entry, ${durationMs} ms per cell after ${warmupMs} ms warm-up, one message per transaction, ${PRODUCERS} producer connections`,
            headers: ['offered msg/s', 'wake-up', 'committed msg/s', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'late starts'],
            rows,
          },
        ],
        notes: [
          "The relay has default options (batchSize 500, pollInterval 1000 ms) and runs in the producers' process, so every commit through withTransaction wakes it directly (except with notify: false); with LISTEN it also hears the NOTIFYs (`listen: pool`). \"relay in the writers' process, no listen\" is `createRelay({ db, publisher })` alone: only the in-process wake-up (latency_<rate>_in_process_p50_ms). latency_p50_ms / latency_p99_ms are the 1,000 msg/s row with the default after-commit signal.",
          '"committed msg/s" below the offered rate means the producers could not keep up on this machine (each message is its own fsynced transaction); "late starts" counts transactions that began more than 10 ms after they were due.',
          'The outbox is truncated and VACUUMed (explicitly; autovacuum is off) between cells.',
        ],
        figures,
      }
    } finally {
      await deleteRunKeys(redis, config).catch(() => {})
      redis.disconnect()
      reader.disconnect()
      await dropSchema(pool, schema).catch(() => {})
      await db.destroy()
    }
  },
}
