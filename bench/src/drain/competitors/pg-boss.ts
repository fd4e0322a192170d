import type PgBoss from 'pg-boss'
import { vacuum } from '../../support/db.js'
import { startPgBoss } from '../../support/peers/pg-boss-peer.js'
import type { CompetitorFactory } from '../drain-competitor.js'
import { untilDone } from '../until-done.js'

const SETTINGS = { batchSize: 5000, workers: 2 }
const QUEUE = 'send'
const LOAD_CHUNK = 10_000

/**
 * pg-boss (the version bench/package.json pins) used as an outbox: one job
 * per message, fetched in large batches by work() loops, each batch sent to
 * the destination in one call.
 */
export function pgBoss(): CompetitorFactory {
  return ({ config, pool, destination, schema }) => {
    const bossSchema = schema('pgboss')
    let boss: PgBoss | undefined
    const started = (): PgBoss => {
      if (!boss) throw new Error('pg-boss was not started')
      return boss
    }
    return {
      name: 'pg-boss',
      notes: `pg-boss 10.4.2: ${SETTINGS.workers} work() loops with batchSize ${SETTINGS.batchSize}, each batch sent in one call; no per-key order.`,
      async setUp() {
        boss = await startPgBoss(config, bossSchema, QUEUE)
      },
      async load({ from, count }) {
        await pool.query(`DELETE FROM "${bossSchema}".job`)
        for (let s = from; s < from + count; s += LOAD_CHUNK) {
          const jobs = []
          for (let g = s; g < Math.min(from + count, s + LOAD_CHUNK); g++) jobs.push({ name: QUEUE, data: { p: { n: g, pad: 'x'.repeat(50) }, k: `key-${g % 100}` } })
          await started().insert(jobs)
        }
        await vacuum(pool, `"${bossSchema}".job`)
      },
      async drain({ topic, count }) {
        const b = started()
        let done = 0
        const ids: string[] = []
        try {
          await untilDone(async (finish) => {
            for (let w = 0; w < SETTINGS.workers; w++) {
              ids.push(
                await b.work<{ p: unknown; k: string }>(QUEUE, { batchSize: SETTINGS.batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
                  await destination.send(jobs.map((job) => ({ message_id: job.id, topic, key: job.data.k, payload: JSON.stringify(job.data.p) })))
                  done += jobs.length
                  if (done >= count) finish()
                }),
              )
            }
          })
        } finally {
          for (const id of ids) await b.offWork({ id })
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
        await boss?.stop({ graceful: false, wait: true }).catch(() => {})
      },
    }
  }
}
