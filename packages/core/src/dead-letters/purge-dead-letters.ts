import type { Kysely } from 'kysely'
import { resolveTableNames, type TableOptions } from '../schema/table-names.js'
import { requireKysely } from '../options/database-option.js'
import { deleteDeadLetters } from '../sql/dead-letters/delete-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import type { DeadLetterRef, DeadLetterSelection } from './dead-letter-selection.js'
import { inDeadLetterTransaction, lockDeadLetters } from './lock-dead-letters.js'
import { validateDeadLetterSelection } from './validate-dead-letter-selection.js'

/**
 * Deletes dead letters for good, the ones {@link retryDeadLetters} would
 * select, and returns them: what `txbox dead purge` runs, and the dashboard's
 * purge. The selection is locked first, so a concurrent retry or purge of the
 * same dead letters waits and then skips what this one deleted.
 */
export async function purgeDeadLetters(db: Kysely<any>, selection: DeadLetterSelection, options: TableOptions = {}): Promise<DeadLetterRef[]> {
  requireKysely('purgeDeadLetters(db)', db)
  validateDeadLetterSelection('purgeDeadLetters', selection)
  const names = resolveTableNames(options)
  return inDeadLetterTransaction(db, async (trx) => {
    const locked = await lockDeadLetters(trx, names, selection)
    if (locked.length > 0) await runSql(trx, deleteDeadLetters(names, { ids: locked.map((d) => d.id) }))
    return locked
  })
}
