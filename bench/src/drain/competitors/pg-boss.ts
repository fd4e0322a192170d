import type { BenchConfig } from '../../support/config.js'
import { vacuum } from '../../support/db.js'
import type { CompetitorFactory } from '../drain-competitor.js'
import { untilDone } from '../until-done.js'
import { pgBoss10 } from './pg-boss-10.js'

const BATCH_SIZE = 5000
const WORKERS = 2
const QUEUE = 'send'
const LOAD_CHUNK = 10_000

/** A fetched job, as the competitor needs it. */
export interface BossJob {
  readonly id: string
  readonly data: { readonly p: unknown; readonly k: string }
}

/** One pg-boss major, reduced to what the competitor does with it: their APIs differ (insert, exports, polling options). */
export interface PgBossDriver {
  readonly version: string
  /** Work options beyond batchSize that make this version drain fastest. */
  readonly workNotes: string
  start(config: BenchConfig, schema: string, queue: string): Promise<void>
  insert(queue: string, jobs: readonly { data: BossJob['data'] }[]): Promise<void>
  work(queue: string, batchSize: number, handler: (jobs: readonly BossJob[]) => Promise<void>): Promise<string>
  offWork(queue: string, id: string): Promise<void>
  stop(): Promise<void>
}

/**
 * pg-boss used as an outbox: one job per message, fetched in large batches by
 * work() loops, each batch sent to the destination in one call.
 */
export function pgBoss(options: { readonly driver?: PgBossDriver; readonly suffix?: string } = {}): CompetitorFactory {
  const driver = options.driver ?? pgBoss10()
  return ({ config, pool, destination, schema }) => {
    const bossSchema = schema(`pgboss_${driver.version.replace(/\W/g, '_')}`)
    const name = `pg-boss ${driver.version}${options.suffix ?? ''}`
    return {
      name,
      notes: `${name}: ${WORKERS} work() loops with batchSize ${BATCH_SIZE}${driver.workNotes}, each batch sent in one call; no per-key order.`,
      async setUp() {
        await driver.start(config, bossSchema, QUEUE)
      },
      async load({ from, count }) {
        await pool.query(`DELETE FROM "${bossSchema}".job`)
        for (let s = from; s < from + count; s += LOAD_CHUNK) {
          const jobs = []
          for (let g = s; g < Math.min(from + count, s + LOAD_CHUNK); g++) jobs.push({ data: { p: { n: g, pad: 'x'.repeat(50) }, k: `key-${g % 100}` } })
          await driver.insert(QUEUE, jobs)
        }
        await vacuum(pool, `"${bossSchema}".job`)
      },
      async drain({ topic, count }) {
        let done = 0
        const ids: string[] = []
        try {
          await untilDone(async (finish) => {
            for (let w = 0; w < WORKERS; w++) {
              ids.push(
                await driver.work(QUEUE, BATCH_SIZE, async (jobs) => {
                  await destination.send(jobs.map((job) => ({ message_id: job.id, topic, key: job.data.k, payload: JSON.stringify(job.data.p) })))
                  done += jobs.length
                  if (done >= count) finish()
                }),
              )
            }
          })
        } finally {
          for (const id of ids) await driver.offWork(QUEUE, id)
        }
        // pg-boss marks a batch completed after its handler returned: wait for
        // that (untimed) before the next load empties the table.
        const deadline = Date.now() + 30_000
        while (Date.now() < deadline) {
          const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${bossSchema}".job WHERE state <> 'completed'`)
          if (rows[0].n === 0) break
          await new Promise((r) => setTimeout(r, 20))
        }
      },
      async tearDown() {
        await driver.stop().catch(() => {})
      },
    }
  }
}
