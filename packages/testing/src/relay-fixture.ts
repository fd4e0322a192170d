import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { TestDatabase } from './test-database.js'

/**
 * A separate pool and Kysely instance on the test database, as another
 * process would have: relays in tests get their own, tagged with an
 * application_name so a test can find (and terminate) exactly their backends.
 */
export function separatePool(t: TestDatabase, applicationName: string, max = 2): { db: Kysely<any>; pool: pg.Pool; close(): Promise<void> } {
  const pool = new pg.Pool({
    connectionString: t.url,
    max,
    application_name: applicationName,
    options: `-c search_path=${t.schema},public`,
  })
  // A terminated backend emits 'error' on idle clients; the pool must not crash the test process.
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool, close: () => db.destroy() }
}

/** Terminates every backend with this application_name; returns how many. */
export async function terminateBackends(db: Kysely<any>, applicationName: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from (
      select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = ${applicationName} and pid <> pg_backend_pid()
    ) s`.execute(db)
  return rows[0]?.n ?? 0
}
