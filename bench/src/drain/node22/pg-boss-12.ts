// Loaded only in the Node 22 child (peer-process.ts): pg-boss 12 needs Node 22.
import { PgBoss } from 'pg-boss-12'
import type { BenchConfig } from '../../support/config.js'
import { packageVersion } from '../../support/package-version.js'
import type { BossJob, PgBossDriver } from '../competitors/pg-boss.js'

/**
 * pg-boss 12, installed as `pg-boss-12`. Set up as pg-boss 10 is (supervision
 * and cron off), and it keeps fetching while batches come back full
 * (burstWhenBatchFull, new in 12: without it a worker waits its polling
 * interval after every batch).
 */
export function pgBoss12(): PgBossDriver {
  let boss: PgBoss | undefined
  const started = (): PgBoss => {
    if (!boss) throw new Error('pg-boss was not started')
    return boss
  }
  return {
    version: packageVersion('pg-boss-12'),
    workNotes: ' (pollingIntervalSeconds 0.5, burstWhenBatchFull)',
    async start(config: BenchConfig, schema: string, queue: string) {
      boss = new PgBoss({
        connectionString: config.databaseUrl,
        schema,
        max: 3,
        application_name: `txbox-bench-${config.runId}`,
        supervise: false,
        schedule: false,
      })
      boss.on('error', (error: Error) => console.error('[bench] pg-boss 12 error:', error.message))
      await boss.start()
      await boss.createQueue(queue)
    },
    async insert(queue, jobs) {
      await started().insert(queue, jobs.map((j) => ({ data: j.data })))
    },
    work(queue, batchSize, handler) {
      return started().work<BossJob['data']>(queue, { batchSize, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true }, (jobs) => handler(jobs as unknown as BossJob[]))
    },
    async offWork(queue, id) {
      await started().offWork(queue, { id })
    },
    async stop() {
      await boss?.stop({ graceful: false })
    },
  }
}
