import type PgBoss from 'pg-boss'
import { startPgBoss } from '../../support/peers/pg-boss-peer.js'
import { packageVersion } from '../../support/package-version.js'
import type { BossJob, PgBossDriver } from './pg-boss.js'

/** pg-boss 10 (the version bench/package.json pins as `pg-boss`; runs on Node 20). */
export function pgBoss10(): PgBossDriver {
  let boss: PgBoss | undefined
  const started = (): PgBoss => {
    if (!boss) throw new Error('pg-boss was not started')
    return boss
  }
  return {
    version: packageVersion('pg-boss'),
    workNotes: ' (pollingIntervalSeconds 0.5)',
    async start(config, schema, queue) {
      boss = await startPgBoss(config, schema, queue)
    },
    async insert(queue, jobs) {
      await started().insert(jobs.map((j) => ({ name: queue, data: j.data })))
    },
    work(queue, batchSize, handler) {
      return started().work<BossJob['data']>(queue, { batchSize, pollingIntervalSeconds: 0.5 }, (jobs) => handler(jobs))
    },
    async offWork(_queue, id) {
      await started().offWork({ id })
    },
    async stop() {
      await boss?.stop({ graceful: false, wait: true })
    },
  }
}
