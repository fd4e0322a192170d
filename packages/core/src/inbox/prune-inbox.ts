import type { Kysely } from 'kysely'
import { requireKysely } from '../options/database-option.js'
import { resolveOptions } from '../options/resolve-options.js'
import { resolveTableNames } from '../schema/table-names.js'
import { pruneInbox as pruneInboxStatement } from '../sql/inbox/prune-inbox.js'
import { runSql } from '../sql/run-sql.js'
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
  const names = resolveTableNames(resolved)
  const { rows } = await runSql(db, pruneInboxStatement(names, { olderThan: olderThan instanceof Date ? olderThan.toISOString() : olderThan, consumer: resolved.consumer ?? null }))
  return Number(rows[0]?.deleted ?? 0)
}
