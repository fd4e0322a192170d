import { run } from 'graphile-worker'
import { vacuum } from '../../support/db.js'
import { PAYLOAD_SQL } from '../../support/outbox-fill.js'
import { installGraphileWorker, quietLogger } from '../../support/peers/graphile-peer.js'
import type { CompetitorFactory } from '../drain-competitor.js'
import { untilDone } from '../until-done.js'

const SETTINGS = { concurrency: 16, localQueueSize: 500, completeJobBatchDelay: 1 }
const LOAD_CHUNK = 20_000

/**
 * graphile-worker (the version bench/package.json pins) used as an outbox:
 * one job per message, its task sends the job to the destination. At its
 * best settings here: a local queue and batched completion.
 */
export function graphileWorker(): CompetitorFactory {
  return ({ pool, destination, schema }) => {
    const workerSchema = schema('graphile')
    return {
      name: 'graphile-worker',
      notes: `graphile-worker 0.17.3: concurrency ${SETTINGS.concurrency}, localQueue.size ${SETTINGS.localQueueSize}, completeJobBatchDelay ${SETTINGS.completeJobBatchDelay} ms (batched completion); its task sends one message per job. Jobs have no queue_name, so no per-key order.`,
      async setUp() {
        await installGraphileWorker(pool, workerSchema)
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
        let runner: Awaited<ReturnType<typeof run>> | undefined
        try {
          await untilDone(async (finish) => {
            runner = await run({
              pgPool: pool,
              schema: workerSchema,
              concurrency: SETTINGS.concurrency,
              noHandleSignals: true,
              pollInterval: 1000,
              logger: quietLogger,
              preset: { worker: { localQueue: { size: SETTINGS.localQueueSize }, completeJobBatchDelay: SETTINGS.completeJobBatchDelay, failJobBatchDelay: SETTINGS.completeJobBatchDelay } },
              taskList: {
                send: async (payload: any, helpers) => {
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
