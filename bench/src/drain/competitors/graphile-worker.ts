import * as installed from 'graphile-worker'
import { vacuum } from '../../support/db.js'
import { PAYLOAD_SQL } from '../../support/outbox-fill.js'
import { packageVersion } from '../../support/package-version.js'
import type { CompetitorFactory } from '../drain-competitor.js'
import { untilDone } from '../until-done.js'

const SETTINGS = { concurrency: 16, localQueueSize: 500, completeJobBatchDelay: 1 }
const LOAD_CHUNK = 20_000

/** What the competitor uses of graphile-worker: any version with these (0.17, 0.18). */
export interface GraphileWorkerLibrary {
  readonly run: (options: any) => Promise<{ stop(): Promise<void> }>
  readonly runMigrations: (options: any) => Promise<void>
  readonly Logger: new (factory: (scope: any) => (level: string, message: string) => void) => unknown
}

export interface GraphileWorkerOptions {
  /** The module to run; default the `graphile-worker` bench/package.json pins. */
  readonly library?: GraphileWorkerLibrary
  /** The specifier it was imported by, to print its version. Default `graphile-worker`. */
  readonly specifier?: string
  /** Added to the name in the table, e.g. " (Node 22)". */
  readonly suffix?: string
}

/**
 * graphile-worker used as an outbox: one job per message, its task sends the
 * job to the destination. At its best settings here: a local queue and
 * batched completion.
 */
export function graphileWorker(options: GraphileWorkerOptions = {}): CompetitorFactory {
  const lib = options.library ?? (installed as unknown as GraphileWorkerLibrary)
  const version = packageVersion(options.specifier ?? 'graphile-worker')
  // graphile-worker logs every start and stop at info; only errors matter here.
  const logger = new lib.Logger(() => (level: string, message: string) => {
    if (level === 'error') console.error('[bench] graphile-worker:', message)
  })
  return ({ pool, destination, schema }) => {
    const workerSchema = schema(`graphile_${version.replace(/\W/g, '_')}`)
    const name = `graphile-worker ${version}${options.suffix ?? ''}`
    return {
      name,
      notes: `${name}: concurrency ${SETTINGS.concurrency}, localQueue.size ${SETTINGS.localQueueSize}, completeJobBatchDelay ${SETTINGS.completeJobBatchDelay} ms (batched completion); its task sends one message per job. Jobs have no queue_name, so no per-key order.`,
      async setUp() {
        await lib.runMigrations({ pgPool: pool, schema: workerSchema, logger })
      },
      async load({ from, count }) {
        for (let s = from; s < from + count; s += LOAD_CHUNK) {
          await pool.query(
            `SELECT "${workerSchema}".add_jobs(ARRAY(
               SELECT ROW('send', json_build_object('p', ${PAYLOAD_SQL}, 'k', 'key-' || (g % 100)), NULL, NULL, NULL, NULL, NULL, NULL)::"${workerSchema}".job_spec
               FROM generate_series($1::bigint, $2::bigint) g))`,
            [s, Math.min(from + count, s + LOAD_CHUNK) - 1],
          )
        }
        await vacuum(pool, `"${workerSchema}"._private_jobs`)
      },
      async drain({ topic, count }) {
        let done = 0
        let runner: { stop(): Promise<void> } | undefined
        try {
          await untilDone(async (finish) => {
            runner = await lib.run({
              pgPool: pool,
              schema: workerSchema,
              concurrency: SETTINGS.concurrency,
              noHandleSignals: true,
              pollInterval: 1000,
              logger,
              preset: { worker: { localQueue: { size: SETTINGS.localQueueSize }, completeJobBatchDelay: SETTINGS.completeJobBatchDelay, failJobBatchDelay: SETTINGS.completeJobBatchDelay } },
              taskList: {
                send: async (payload: any, helpers: any) => {
                  await destination.send([{ message_id: `g-${helpers.job.id}`, topic, key: payload.k, payload: JSON.stringify(payload.p) }])
                  if (++done >= count) finish()
                },
              },
            })
          })
        } finally {
          await runner?.stop()
        }
      },
    }
  }
}
