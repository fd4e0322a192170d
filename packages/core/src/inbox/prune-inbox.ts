import type { Kysely } from 'kysely'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { rejectUnknownOptions, resolveTableNames } from '../schema/table-names.js'
import { pruneInbox as pruneInboxStatement } from '../sql/inbox/prune-inbox.js'
import { runSql } from '../sql/run-sql.js'
import { requireKysely } from '../sql-executor.js'
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
  const valid = olderThan instanceof Date ? !Number.isNaN(olderThan.getTime()) : typeof olderThan === 'number' && Number.isFinite(olderThan) && olderThan >= 0
  if (!valid) {
    throw new InvalidOptionError(
      'olderThan',
      `pruneInbox: olderThan must be an age in ms (a number ≥ 0, e.g. 7 * 24 * 3600_000) or a valid Date; got ${olderThan instanceof Date ? 'an invalid Date' : String(olderThan)}.`,
    )
  }
  const consumer = options.consumer === undefined ? null : consumerName('pruneInbox', options.consumer)
  const names = resolveTableNames(options)
  const { rows } = await runSql(db, pruneInboxStatement(names, { olderThan: olderThan instanceof Date ? olderThan.toISOString() : olderThan, consumer }))
  return Number(rows[0]?.deleted ?? 0)
}
