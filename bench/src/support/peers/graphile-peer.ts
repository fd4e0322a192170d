import { Logger, runMigrations } from 'graphile-worker'
import type pg from 'pg'

/** graphile-worker logs every start and stop at info; only errors matter here. */
export const quietLogger = new Logger(() => (level: string, message: string) => {
  if (level === 'error') console.error('[bench] graphile-worker:', message)
})

/** Installs graphile-worker's schema (its migrations) into `schema`. */
export async function installGraphileWorker(pool: pg.Pool, schema: string): Promise<void> {
  await runMigrations({ pgPool: pool, schema, logger: quietLogger })
}
