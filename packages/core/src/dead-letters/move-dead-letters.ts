import type { Transaction } from 'kysely'
import type { TableNames } from '../schema/table-names.js'
import { lockKeys } from '../sql/dead-letters/lock-keys.js'
import { moveDeadLetters as moveDeadLettersStatement } from '../sql/dead-letters/move-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import type { DeadLetterRef } from './dead-letter-selection.js'

/**
 * Moves locked dead letters back into the outbox and returns the ones moved;
 * the others stay dead letters, untouched. Run inside the transaction that
 * locked them (see lock-dead-letters.ts), at READ COMMITTED.
 *
 * Per-key commit order: first the same key locks enqueueOnCommit takes (same
 * lock space, same hash order), held to the end of the transaction. Then one
 * statement, whose snapshot is taken after those locks, re-reads exactly the
 * locked rows, inserts them into the outbox (new ids, drawn under the key
 * locks: the messages join their key's order at the end, in commit order, as
 * an enqueue does) and deletes exactly the rows it inserted.
 *
 * A message id is in the outbox at most once: see move-dead-letters' statement.
 */
export async function moveDeadLetters(trx: Transaction<any>, names: TableNames, locked: readonly DeadLetterRef[]): Promise<DeadLetterRef[]> {
  if (locked.length === 0) return []
  const keys = [...new Set(locked.flatMap((d) => (d.key === null ? [] : [d.key])))]
  if (keys.length > 0) await runSql(trx, lockKeys(names, { keyLockSpace: names.locks.keys, keys }))
  const { rows } = await runSql(trx, moveDeadLettersStatement(names, { ids: locked.map((d) => d.id) }))
  const inserted = rows[0]?.inserted ?? 0
  const removed = new Set(rows[0]?.removed ?? [])
  // Cannot happen by construction; if it ever did, the rollback keeps every dead letter.
  if (removed.size !== inserted) throw new Error(`dead retry: inserted ${inserted} message(s) but deleted ${removed.size} dead letter(s); nothing was changed`)
  return locked.filter((d) => removed.has(d.id))
}
