import PgBoss from 'pg-boss'
import type { BenchConfig } from '../config.js'

/**
 * A pg-boss instance in its own schema, with the background work it would do
 * in production switched off (supervision, cron) so that it does not take CPU
 * from the competitor being measured.
 */
export async function startPgBoss(config: BenchConfig, schema: string, queue: string): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: config.databaseUrl,
    schema,
    max: 3,
    application_name: `txbox-bench-${config.runId}`,
    supervise: false,
    schedule: false,
  })
  boss.on('error', (error) => console.error('[bench] pg-boss error:', error.message))
  await boss.start()
  await boss.createQueue(queue)
  return boss
}
