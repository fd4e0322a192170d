import type { Kysely } from 'kysely'
import { rejectUnknownOptions, resolveTableNames, type TableOptions } from './table-names.js'
import { migrations } from './migrations.js'
import { requireKysely, runSql } from '../sql-executor.js'

/** Options of {@link migrate}. */
export interface MigrateOptions extends TableOptions {}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The schema version before the call. */
  readonly from: number
  /** The schema version now. */
  readonly to: number
  /** Versions applied by this call (empty when already up to date). */
  readonly applied: readonly number[]
}

/**
 * Creates or upgrades txbox's tables. Idempotent, and safe when several
 * processes call it at once: the work is done in one transaction holding an
 * advisory lock, so the second caller waits and then finds nothing to do.
 *
 * @example
 * await migrate(db)                       // schema "txbox"
 * await migrate(db, { schema: 'events' }) // your own schema
 */
export async function migrate(db: Kysely<any>, options: MigrateOptions = {}): Promise<MigrateResult> {
  requireKysely('migrate(db)', db)
  rejectUnknownOptions('migrate', options, [])
  const names = resolveTableNames(options)
  return db.transaction().execute(async (trx) => {
    await runSql(trx, 'SELECT pg_advisory_xact_lock($1, 0)', [names.locks.migrate])
    await runSql(trx, `CREATE SCHEMA IF NOT EXISTS ${names.quoted.schema}`)
    await runSql(
      trx,
      `CREATE TABLE IF NOT EXISTS ${names.quoted.migrations} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    )
    const { rows } = await runSql<{ version: number | null }>(
      trx,
      `SELECT max(version) AS version FROM ${names.quoted.migrations}`,
    )
    const from = rows[0]?.version ?? 0
    const applied: number[] = []
    for (const migration of migrations) {
      if (migration.version <= from) continue
      await runSql(trx, migration.sql(names))
      await runSql(trx, `INSERT INTO ${names.quoted.migrations} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ])
      applied.push(migration.version)
    }
    return { from, to: applied.at(-1) ?? from, applied }
  })
}
