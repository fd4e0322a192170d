import type { Transaction } from 'kysely'
import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql-executor.js'
import type { LockedDeadLetter } from './dead-selection.js'

/**
 * Moves locked dead letters back into the outbox and returns the ones moved;
 * the others stay dead letters, untouched. Run inside the transaction that
 * locked them (see lockDeadLetters), at READ COMMITTED.
 *
 * Per-key commit order: first the same key locks enqueueOnCommit takes (same
 * lock space, same hash order), held to the end of the transaction. Then one
 * statement, whose snapshot is taken after those locks, re-reads exactly the
 * locked rows, inserts them into the outbox (new ids, drawn under the key
 * locks: the messages join their key's order at the end, in commit order, as
 * an enqueue does) and deletes exactly the rows it inserted.
 *
 * A message id is in the outbox at most once. Of several dead letters with one
 * message id, only the oldest (lowest id: the first enqueued) is moved; and a
 * dead letter whose message id a message in the outbox holds is not moved
 * (ON CONFLICT DO NOTHING, which also waits for an uncommitted writer of that
 * id). The DELETE is joined to what the INSERT returned, so nothing is deleted
 * that was not inserted.
 */
export async function moveDeadLetters(trx: Transaction<any>, names: TableNames, locked: readonly LockedDeadLetter[]): Promise<LockedDeadLetter[]> {
  if (locked.length === 0) return []
  const keys = [...new Set(locked.flatMap((d) => (d.key === null ? [] : [d.key])))]
  if (keys.length > 0) {
    await runSql(
      trx,
      `SELECT count(pg_advisory_xact_lock($1::int, k.h))
       FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY 1) AS k`,
      [names.locks.keys, keys],
    )
  }
  // Message ids compare byte-wise (COLLATE "C", as the outbox's primary key
  // does), whatever the database's default collation.
  const { rows } = await runSql<{ inserted: number; removed: string[] }>(
    trx,
    `WITH candidate AS (
       SELECT DISTINCT ON (message_id COLLATE "C") id, message_id, topic, key, payload, headers
       FROM ${names.quoted.dead} WHERE id = ANY($1::bigint[])
       ORDER BY message_id COLLATE "C", id
     ), inserted AS (
       INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers)
       SELECT message_id, topic, key, payload, headers FROM candidate ORDER BY id
       ON CONFLICT (message_id) DO NOTHING
       RETURNING message_id
     ), removed AS (
       DELETE FROM ${names.quoted.dead} d USING candidate c, inserted i
       WHERE d.id = c.id AND i.message_id = c.message_id COLLATE "C"
       RETURNING d.id
     )
     SELECT (SELECT count(*)::int FROM inserted) AS inserted,
            coalesce((SELECT array_agg(id::text) FROM removed), '{}') AS removed`,
    [locked.map((d) => d.id)],
  )
  const inserted = rows[0]?.inserted ?? 0
  const removed = new Set(rows[0]?.removed ?? [])
  // Cannot happen by construction; if it ever did, the rollback keeps every dead letter.
  if (removed.size !== inserted) throw new Error(`dead retry: inserted ${inserted} message(s) but deleted ${removed.size} dead letter(s); nothing was changed`)
  return locked.filter((d) => removed.has(d.id))
}
