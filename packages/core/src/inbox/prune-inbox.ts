import type { Kysely } from 'kysely'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import { rejectUnknownOptions, resolveTableNames } from '../schema/table-names.js'
import { requireKysely, runSql } from '../sql-executor.js'
import type { PruneInboxOptions } from './inbox-options.js'
import { consumerName } from './validate-inbox-input.js'

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
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'pruneInbox(db, { olderThan }): options with olderThan (ms or a Date) are required.')
  }
  rejectUnknownOptions('pruneInbox', options, ['olderThan', 'consumer'])
  const { olderThan } = options
  let cutoff: string
  if (olderThan instanceof Date && !Number.isNaN(olderThan.getTime())) cutoff = '$1::timestamptz'
  else if (typeof olderThan === 'number' && Number.isFinite(olderThan) && olderThan >= 0) cutoff = `statement_timestamp() - $1::float8 * interval '1 millisecond'`
  else {
    throw new InvalidOptionError(
      'olderThan',
      `pruneInbox: olderThan must be an age in ms (a number ≥ 0, e.g. 7 * 24 * 3600_000) or a valid Date; got ${olderThan instanceof Date ? 'an invalid Date' : String(olderThan)}.`,
    )
  }
  const consumer = options.consumer === undefined ? null : consumerName('pruneInbox', options.consumer)
  const names = resolveTableNames(options)
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
