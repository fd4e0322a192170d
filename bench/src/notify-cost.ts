import { enqueueOnCommit, migrate, type NotifyMode, withTransaction } from '@txbox/core'
import pg from 'pg'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName } from './support/db.js'
import { closedLoopThroughput, interleavedRounds } from './support/rounds.js'
import { formatSummary, pairedRatio, round, summarize } from './support/stats.js'

const MODES = { 'no signal (notify: false)': false, 'NOTIFY in the transaction': 'in-transaction', 'after-commit signal (default)': 'after-commit' } as const
type Mode = keyof typeof MODES
const CLIENTS = 16

/**
 * Commit throughput of 16 clients, each transaction one enqueueOnCommit, with
 * the three wake-up signals enqueue can send. A LISTEN connection is open on
 * the channel throughout, as a relay's would be, and counts what it receives.
 */
export const notifyCost: Benchmark = {
  name: 'notify',
  title: `NOTIFY's commit cost: ${CLIENTS} clients committing one enqueue each, by wake-up signal`,
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const rounds = config.quick ? 3 : 5
    const durationMs = config.quick ? 1000 : 3000
    const schema = schemaName(config, 'notify')
    const pool = createPool(config, CLIENTS + 1, schema)
    const db = kyselyOn(pool)
    const listener = new pg.Client({ connectionString: config.databaseUrl, application_name: `txbox-bench-${config.runId}` })
    try {
      await migrate(db, { schema })
      await listener.connect()
      let received = 0
      listener.on('notification', () => {
        received += 1
      })
      await listener.query(`LISTEN "${schema}_outbox"`)

      let seq = 0
      const commitOne = (notify: NotifyMode) => () =>
        withTransaction(db, async (trx) => {
          seq += 1
          await enqueueOnCommit(trx, { topic: 'bench.notify', key: `k${seq % 100}`, payload: { seq } }, { schema, notify })
        })
      const modes = Object.keys(MODES) as Mode[]
      for (const m of modes) await commitOne(MODES[m])()

      const signalsPerSecond: Record<Mode, number[]> = Object.fromEntries(modes.map((m) => [m, []])) as any
      log(`  ${rounds} rounds × ${modes.length} signals × ${durationMs} ms`)
      const tps = await interleavedRounds(rounds, modes, async (mode) => {
        await pool.query(`TRUNCATE "${schema}".outbox`)
        const before = received
        const t0 = performance.now()
        const result = await closedLoopThroughput(CLIENTS, durationMs, commitOne(MODES[mode]))
        // Let trailing after-commit signals arrive before counting.
        await new Promise((r) => setTimeout(r, 20))
        signalsPerSecond[mode].push((received - before) / ((performance.now() - t0) / 1000))
        return result
      })
      const base = tps['no signal (notify: false)']
      const rows = modes.map((m) => [
        m,
        formatSummary(summarize(tps[m])),
        MODES[m] === false ? '1.00' : formatSummary(pairedRatio(tps[m], base), 2),
        formatSummary(summarize(signalsPerSecond[m])),
      ])
      const inTx = pairedRatio(tps['NOTIFY in the transaction'], base)
      const afterCommit = pairedRatio(tps['after-commit signal (default)'], base)
      return {
        tables: [
          {
            title: `Commits/s of ${CLIENTS} clients (median of ${rounds} rounds, range), ${durationMs} ms per round`,
            headers: ['wake-up signal', 'commits/s', 'throughput vs no signal', 'notifications received/s'],
            rows,
          },
        ],
        notes: [
          'Each transaction: withTransaction + one enqueueOnCommit (100 keys), nothing else, so the commit dominates.',
          'notify_commit_cost = commits/s with a NOTIFY in every transaction ÷ commits/s without any signal (1.0 = free; lower = NOTIFY costs throughput). after_commit_signal_ratio is the same for the default after-commit signal (one NOTIFY per 5 ms per process, outside the transaction).',
        ],
        figures: { notify_commit_cost: round(inTx.median, 3), after_commit_signal_ratio: round(afterCommit.median, 3) },
      }
    } finally {
      await listener.end().catch(() => {})
      await dropSchema(pool, schema).catch(() => {})
      await db.destroy()
    }
  },
}
