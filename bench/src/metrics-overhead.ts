import { createRelay, migrate } from '@txbox/core'
import { relayMetrics } from '@txbox/prometheus'
import { redisStreamsPublisher } from '@txbox/redis'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName, vacuum } from './support/db.js'
import { fillOutbox } from './support/outbox-fill.js'
import { createRedis, deleteRunKeys, streamName } from './support/redis.js'
import { interleavedRounds } from './support/rounds.js'
import { formatNumber, formatSummary, pairedRatio, round, summarize } from './support/stats.js'

const MODES = ['metrics off', 'metrics on'] as const
type Mode = (typeof MODES)[number]
const BATCH = 500
/** Scrapes per second while draining with metrics on: far more often than Prometheus (every 15–60 s), to make the cost visible. */
const SCRAPE_EVERY_MS = 1_000

/**
 * The relay's throughput to Redis with and without @txbox/prometheus's
 * relayMetrics attached (and scraped every second, which reads the outbox
 * snapshot from the database), in interleaved rounds on the same backlog.
 */
export const metricsOverhead: Benchmark = {
  name: 'metrics',
  title: 'Relay throughput with Prometheus metrics on vs off',
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const count = config.quick ? 20_000 : 100_000
    const rounds = config.quick ? 3 : 5
    const schema = schemaName(config, 'metrics')
    const pool = createPool(config, 4, schema)
    const db = kyselyOn(pool)
    const redis = createRedis(config)
    let seq = 0
    try {
      await migrate(db, { schema })
      log(`  ${formatNumber(count)} messages, 100 keys, ${rounds} rounds × ${MODES.length} modes`)
      const rates = await interleavedRounds(rounds, MODES, async (mode: Mode, r) => {
        const stream = streamName(config, `metrics-${r}-${mode.replace(/\W+/g, '-')}`)
        await fillOutbox(pool, `"${schema}".outbox`, count, { topic: stream, from: seq })
        seq += count
        await vacuum(pool, `"${schema}".outbox`)
        const relay = createRelay({ db, publisher: redisStreamsPublisher({ redis }), schema, batchSize: BATCH })
        const metrics = mode === 'metrics on' ? relayMetrics(relay) : undefined
        let scrapes = 0
        const scraper = metrics
          ? setInterval(() => {
              void metrics.registry.metrics().then(() => {
                scrapes += 1
              })
            }, SCRAPE_EVERY_MS)
          : undefined
        let published = 0
        const t0 = performance.now()
        await new Promise<void>((resolve, reject) => {
          relay.on('published', ({ messages }) => {
            published += messages.length
            if (published >= count) resolve()
          })
          relay.start().catch(reject)
        })
        const rate = count / ((performance.now() - t0) / 1000)
        clearInterval(scraper)
        await relay.stop()
        metrics?.close()
        const length = await redis.xlen(stream)
        await redis.del(stream)
        if (length !== count) throw new Error(`${mode}: the stream holds ${length} entries, expected ${count}`)
        log(`    round ${r + 1} ${mode}: ${formatNumber(rate)} msg/s${metrics ? ` (${scrapes} scrapes)` : ''}`)
        return rate
      })
      const ratio = pairedRatio(rates['metrics on'], rates['metrics off'])
      return {
        tables: [
          {
            title: `Messages/s draining ${formatNumber(count)} messages into a Redis stream (median of ${rounds} rounds, range)`,
            headers: ['relay', 'msg/s', '÷ metrics off'],
            rows: MODES.map((m) => [m, formatSummary(summarize(rates[m])), formatSummary(pairedRatio(rates[m], rates['metrics off']), 3)]),
          },
        ],
        notes: [
          `createRelay({ batchSize: ${BATCH} }) with redisStreamsPublisher; "metrics on" adds relayMetrics(relay) from @txbox/prometheus and scrapes its registry every ${SCRAPE_EVERY_MS} ms.`,
          'metrics_on_vs_off = median of per-round ratios (on ÷ off); 1.00 means no cost.',
        ],
        figures: { metrics_on_vs_off: round(ratio.median, 3) },
      }
    } finally {
      await deleteRunKeys(redis, config).catch(() => {})
      redis.disconnect()
      await dropSchema(pool, schema).catch(() => {})
      await db.destroy()
    }
  },
}
