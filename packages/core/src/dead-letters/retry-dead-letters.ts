import type { Kysely } from 'kysely'
import { resolveTableNames, type TableOptions } from '../schema/table-names.js'
import { requireKysely } from '../options/database-option.js'
import { notifyRelays } from '../sql/outbox/notify-relays.js'
import { runSql } from '../sql/run-sql.js'
import type { DeadLetterRef, DeadLetterSelection } from './dead-letter-selection.js'
import { inDeadLetterTransaction, lockDeadLetters } from './lock-dead-letters.js'
import { moveDeadLetters } from './move-dead-letters.js'
import { validateDeadLetterSelection } from './validate-dead-letter-selection.js'

/** What {@link retryDeadLetters} did. */
export interface RetryDeadLettersResult {
  /** The dead letters the selection matched, locked while the retry ran. */
  readonly selected: readonly DeadLetterRef[]
  /**
   * The ones moved back into the outbox. A selected dead letter stays when its
   * message id is in the outbox (a message reused it), or when an older dead
   * letter with the same message id was moved now (one message id is in the
   * outbox at most once): retry it once that message is published.
   */
  readonly retried: readonly DeadLetterRef[]
}

/**
 * Moves dead letters back into the outbox, as new rows (new sequence id,
 * attempts 0) with the same message id, topic, key, payload and headers, and
 * deletes them from the dead letters, in one transaction: what
 * `txbox dead retry` runs, and the dashboard's retry. A retried message goes
 * to the end of its key's queue, like a new enqueue, under the same per-key
 * lock an enqueue takes. A running relay is woken at commit.
 *
 * @example
 * await retryDeadLetters(db, { kind: 'filter', filter: { topic: 'email.welcome', errorContains: 'timeout' } })
 */
export async function retryDeadLetters(db: Kysely<any>, selection: DeadLetterSelection, options: TableOptions = {}): Promise<RetryDeadLettersResult> {
  requireKysely('retryDeadLetters(db)', db)
  validateDeadLetterSelection('retryDeadLetters', selection)
  const names = resolveTableNames(options)
  return inDeadLetterTransaction(db, async (trx) => {
    const selected = await lockDeadLetters(trx, names, selection)
    const retried = await moveDeadLetters(trx, names, selected)
    // A running relay wakes now instead of at its next poll.
    if (retried.length > 0) await runSql(trx, notifyRelays({ channel: names.channel, payload: '' }))
    return { selected, retried }
  })
}
