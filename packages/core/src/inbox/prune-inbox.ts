import type { Kysely } from 'kysely'
import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import { requireKysely } from '../options/database-option.js'
import { resolveOptions } from '../options/resolve-options.js'
import { resolveTableNames } from '../schema/table-names.js'
import { runSql } from '../sql-executor.js'
import type { PruneInboxOptions } from './inbox-options.js'
import { PRUNE_INBOX_OPTIONS } from './validate-inbox-input.js'

/**
 * Deletes inbox records processed before `olderThan` (an age in ms or a Date)
 * and resolves to how many it deleted. Run it periodically; a message
 * redelivered after its record was pruned is processed again.
 *
 * @example
 * await pruneInbox(db, { olderThan: 7 * 24 * 3600_000 })            // older than a week
 * await pruneInbox(db, { olderThan: new Date('2025-01-01'), consumer: 'billing' })
 */
export async function pruneInbox(db: Kysely<any>, options: PruneInboxOptions): Promise<number> {
  requireKysely('pruneInbox(db, options)', db)
  const resolved = resolveOptions('pruneInbox', PRUNE_INBOX_OPTIONS, options)
  const { olderThan } = resolved
  const cutoff = olderThan instanceof Date ? '$1::timestamptz' : `statement_timestamp() - $1::float8 * interval '1 millisecond'`
  const consumer = resolved.consumer ?? null
  const names = resolveTableNames(resolved)
  try {
    const { rows } = await runSql<{ deleted: string }>(
      db,
      `WITH deleted AS (
         DELETE FROM ${names.quoted.inbox}
         WHERE processed_at < ${cutoff} AND ($2::text IS NULL OR consumer = $2::text)
         RETURNING 1
       )
       SELECT count(*) AS deleted FROM deleted`,
      [olderThan instanceof Date ? olderThan.toISOString() : olderThan, consumer],
    )
    return Number(rows[0]?.deleted ?? 0)
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') throw new SchemaNotMigratedError(names.quoted.inbox, { cause: error, tables: names })
    throw error
  }
}
