import { createRelay, migrate } from '@txbox/core'
import { deleteBatch } from '../../packages/core/src/sql/relay/delete-batch.js'
import { resolveTableNames } from '../../packages/core/src/schema/table-names.js'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, formatBytes, kyselyOn, relationSizes, schemaName, vacuum } from './support/db.js'
import { instantPublisher } from './support/instant-publisher.js'
import { fillOutbox } from './support/outbox-fill.js'
import { formatNumber, quantile, round } from './support/stats.js'
import type { ResultTable } from './support/table.js'

const BATCH_SIZE = 500
const LANES_PER_CLAIM = 16
const DRAIN_BATCH = 2000
const VACUUM_EVERY = 100_000

/**
 * The relay's claim statement (delete-batch, with the relay's default batch
 * and lanes) against backlogs of growing size. Each claim runs in a
 * transaction that is rolled back, so the backlog stays the same size for
 * every sample. Then the whole backlog is drained by a relay whose publisher
 * confirms instantly, and the table and index sizes are read before and after
 * an explicit VACUUM (autovacuum is off on the bench server).
 */
export const backlogScaling: Benchmark = {
  name: 'backlog',
  title: 'Backlog scaling: claim latency with 10k … 1M (10M) rows waiting, and the outbox after a drain',
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const sizes = config.quick ? [10_000, 100_000, 1_000_000] : [10_000, 100_000, 1_000_000, 10_000_000]
    // Draining 1M takes over a minute here: the quick run drains the 100k backlog.
    const drainAt = config.quick ? 100_000 : 1_000_000
    const samples = config.quick ? 15 : 50
    const schema = schemaName(config, 'backlog')
    const pool = createPool(config, 3, schema)
    const db = kyselyOn(pool)
    const names = resolveTableNames({ schema })
    const outbox = names.quoted.outbox
    // The relay's own statement and parameters (its defaults, batch and lanes as above, no waves).
    const claim = (rotation: number) =>
      deleteBatch(names, true, {
        rotation,
        laneLockSpace: names.locks.lanes,
        lanesPerClaim: LANES_PER_CLAIM,
        batchSize: BATCH_SIZE,
        perLane: BATCH_SIZE,
        idleTimeout: '60000ms',
        statementTimeout: '60000ms',
      })
    const claimSql = claim(0).text
    const claimParams = (rotation: number) => [...claim(rotation).values]
    const rows: string[][] = []
    const details: string[] = []
    const figures: Record<string, number> = {}
    try {
      await migrate(db, { schema })
      let loaded = 0
      let nextMessage = 0
      let drainTable: ResultTable | undefined
      let drainNote = ''
      for (const size of sizes) {
        const t0 = performance.now()
        await fillOutbox(pool, outbox, size - loaded, { from: nextMessage })
        nextMessage += size - loaded
        loaded = size
        await vacuum(pool, outbox)
        log(`  ${formatNumber(size)} rows loaded and vacuumed in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
        const client = await pool.connect()
        const times: number[] = []
        let claimed = 0
        try {
          for (let i = 0; i < samples + 2; i++) {
            await client.query('BEGIN')
            const s = performance.now()
            const result = await client.query(claimSql, claimParams(i % 64))
            const ms = performance.now() - s
            await client.query('ROLLBACK')
            if (i >= 2) times.push(ms) // the first two warm the plan and the cache
            claimed = result.rowCount ?? 0
          }
          await client.query('BEGIN')
          const plan = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${claimSql}`, claimParams(0))
          await client.query('ROLLBACK')
          const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n')
          const seqScan = /Seq Scan on outbox/.test(text)
          // A scan that reads past rows it does not take (the wrong index, a
          // filter instead of an index condition) is O(backlog) even without a Seq Scan.
          const removed = Math.max(0, ...[...text.matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => Number(m[1])))
          rows.push([formatNumber(size), String(claimed), quantile(times, 0.5).toFixed(2), quantile(times, 0.99).toFixed(2), seqScan ? 'YES' : 'no', formatNumber(removed)])
          figures[`claim_ms_at_${size >= 1_000_000 ? `${size / 1_000_000}m` : `${size / 1000}k`}_backlog`] = round(quantile(times, 0.5), 2)
          if (size === sizes[sizes.length - 1] || size === 1_000_000) details.push(`EXPLAIN (ANALYZE, BUFFERS) of the claim with 1,000,000 rows waiting:\n${text}`)
        } finally {
          client.release()
        }
        if (size === drainAt) {
  const before = await relationSizes(pool, outbox)
        log(`  draining ${formatNumber(loaded)} rows with relay.runOnce() (batch ${DRAIN_BATCH}, instant publisher), VACUUM (ANALYZE) every ${formatNumber(VACUUM_EVERY)} drained`)
        const publisher = instantPublisher()
        const relay = createRelay({ db, publisher, schema, batchSize: DRAIN_BATCH, lanesPerClaim: 64 })
        const cycleMs: number[] = []
        let vacuums = 0
        let sinceVacuum = 0
        let vacuumMs = 0
        const t0 = performance.now()
        while (publisher.published < loaded) {
          const s = performance.now()
          const n = await relay.runOnce()
          cycleMs.push(performance.now() - s)
          sinceVacuum += n
          // Autovacuum is off here; the outbox's own settings would have it vacuum
          // after 10,000 dead rows. Every VACUUM_EVERY keeps the drain short.
          if (sinceVacuum >= VACUUM_EVERY && publisher.published < loaded) {
            const v = performance.now()
            await vacuum(pool, outbox)
            vacuumMs += performance.now() - v
            vacuums += 1
            sinceVacuum = 0
          }
          if (n === 0 && publisher.published < loaded) throw new Error(`drain stalled at ${publisher.published} of ${loaded}`)
        }
        const drainSeconds = (performance.now() - t0) / 1000
        const drained = await relationSizes(pool, outbox)
        await vacuum(pool, outbox, false)
        const vacuumed = await relationSizes(pool, outbox)
        const sizeRows = [
          ['loaded, vacuumed', before],
          ['drained (no vacuum)', drained],
          ['drained, after VACUUM', vacuumed],
        ].map(([label, s]) => {
          const r = s as Awaited<ReturnType<typeof relationSizes>>
          return [label as string, formatBytes(r.tableBytes), formatBytes(r.indexBytes), formatNumber(r.liveTuples), formatNumber(r.deadTuples)]
        })
        figures.drain_msgs_per_s_instant_publisher = Math.round(loaded / drainSeconds)
        drainNote = `Drain cycles (claim ${DRAIN_BATCH} + instant publish + COMMIT): p50 ${quantile(cycleMs, 0.5).toFixed(1)} ms, p99 ${quantile(cycleMs, 0.99).toFixed(1)} ms, max ${Math.max(...cycleMs).toFixed(1)} ms over ${cycleMs.length} cycles; ${vacuums} VACUUMs took ${(vacuumMs / 1000).toFixed(1)} s of the ${drainSeconds.toFixed(1)} s.`
          drainTable = {
            title: `Outbox size around draining ${formatNumber(loaded)} messages (${drainSeconds.toFixed(1)} s, ${formatNumber(loaded / drainSeconds)} msg/s with an instant publisher)`,
            headers: ['state', 'table', 'indexes', 'live tuples', 'dead tuples'],
            rows: sizeRows,
          }
          loaded = 0
        }
      }

      return {
        tables: [
          {
            title: `Claim of one batch (${BATCH_SIZE} rows, up to ${LANES_PER_CLAIM} lanes, blockKeyOnFailure on), ${samples} samples per size, each rolled back`,
            headers: ['rows waiting', 'rows claimed', 'p50 ms', 'p99 ms', 'Seq Scan on outbox', 'most rows removed by a filter'],
            rows,
          },
          ...(drainTable ? [drainTable] : []),
        ],
        notes: [
          'Rows are loaded with INSERT … SELECT generate_series (100 keys), then VACUUM (ANALYZE) is run explicitly: autovacuum is off on this server, and in production autovacuum/autoanalyze would have run.',
          config.quick ? 'The 10M backlog runs only in the full run (loading it takes minutes here).' : 'The 10M backlog is included (full run).',
          `Drain: runOnce() in a loop until every row is published, with an explicit VACUUM (ANALYZE) every ${formatNumber(VACUUM_EVERY)} messages standing in for autovacuum; the sizes after the drain are before and after a final plain VACUUM.`,
          drainNote,
        ],
        figures,
        details,
      }
    } finally {
      await dropSchema(pool, schema).catch(() => {})
      await db.destroy()
    }
  },
}
