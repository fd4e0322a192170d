import type { Kysely, Transaction } from 'kysely'
import type { TableNames } from '../schema/table-names.js'
import { lockDeadLetters as lockDeadLettersStatement } from '../sql/dead-letters/lock-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import { withTransaction } from '../transaction/with-transaction.js'
import type { DeadLetterRef, DeadLetterSelection } from './dead-letter-selection.js'

/**
 * Runs `fn` in a READ COMMITTED transaction, whatever the server's
 * default_transaction_isolation: each statement then sees what committed
 * before it started, so a statement run after waiting for a lock sees the
 * work of the transaction it waited for. Under REPEATABLE READ or
 * SERIALIZABLE it would keep the first statement's snapshot and fail with a
 * serialization error on a row that transaction wrote (a message id it took).
 */
export function inDeadLetterTransaction<T>(db: Kysely<any>, fn: (trx: Transaction<any>) => Promise<T>): Promise<T> {
  return withTransaction(db, fn, { isolationLevel: 'read committed' })
}

/**
 * The one selection of retryDeadLetters and purgeDeadLetters: locks the dead
 * letters `selection` matches now (FOR UPDATE, in id order, so that two
 * commands never deadlock on each other) and returns them. The caller then
 * acts on exactly these rows, by their id: a dead letter added after this
 * statement is not part of it, and one a concurrent command deleted first is
 * skipped (FOR UPDATE waits for that command and drops rows it deleted).
 */
export async function lockDeadLetters(trx: Transaction<any>, names: TableNames, selection: DeadLetterSelection): Promise<DeadLetterRef[]> {
  const { rows } = await runSql(trx, lockDeadLettersStatement(names, selection))
  return rows.map((r) => ({ id: r.id, messageId: r.message_id, key: r.key }))
}
