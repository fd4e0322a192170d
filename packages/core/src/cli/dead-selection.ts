import type { Kysely, Transaction } from 'kysely'
import type { TableNames } from '../schema/table-names.js'
import { type DeadSelection, lockDeadLetters as lockDeadLettersStatement } from '../sql/cli/lock-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import { withTransaction } from '../transaction/with-transaction.js'
import { CliError } from './cli-error.js'

export type { DeadSelection }


export interface SelectionFlags {
  id?: string[]
  topic?: string
  all?: boolean
  yes?: boolean
}

/** A dead letter a command selected and holds locked until its transaction ends. */
export interface LockedDeadLetter {
  /** The dead table's id (the outbox id the message had): unique, unlike the message id. */
  readonly id: string
  readonly messageId: string
  readonly key: string | null
}

/** Exactly one of --id, --topic, --all; anything else is a usage error. */
export function deadSelection(command: string, flags: SelectionFlags): DeadSelection {
  const given = [flags.id !== undefined, flags.topic !== undefined, flags.all === true].filter(Boolean).length
  if (given !== 1) {
    throw new CliError(`dead ${command}: choose the dead letters with exactly one of --id <messageId...>, --topic <topic> or --all.`, 'usage')
  }
  if (flags.id !== undefined) return { kind: 'ids', ids: [...new Set(flags.id)] }
  if (flags.topic !== undefined) return { kind: 'topic', topic: flags.topic }
  return { kind: 'all' }
}

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
 * The one selection of `txbox dead retry` and `txbox dead purge`: locks the
 * dead letters `selection` matches now (FOR UPDATE, in id order, so that two
 * commands never deadlock on each other) and returns them. The command then
 * acts on exactly these rows, by their id: a dead letter added after this
 * statement is not part of it, and one a concurrent command deleted first is
 * skipped (FOR UPDATE waits for that command and drops rows it deleted).
 */
export async function lockDeadLetters(trx: Transaction<any>, names: TableNames, selection: DeadSelection): Promise<LockedDeadLetter[]> {
  const { rows } = await runSql(trx, lockDeadLettersStatement(names, selection))
  return rows.map((r) => ({ id: r.id, messageId: r.message_id, key: r.key }))
}

/** Human words for the selection, for messages. */
export function describeSelection(selection: DeadSelection): string {
  if (selection.kind === 'ids') return `${selection.ids.length} dead letter(s) by message id`
  if (selection.kind === 'topic') return `the dead letters of topic "${selection.topic}"`
  return 'every dead letter'
}

/** The problem to report when ids asked for with --id matched no dead letter (none or one line). */
export function missingIdProblems(selection: DeadSelection, found: readonly LockedDeadLetter[]): string[] {
  if (selection.kind !== 'ids') return []
  const seen = new Set(found.map((d) => d.messageId))
  const missing = selection.ids.filter((id) => !seen.has(id))
  return missing.length > 0 ? [`no dead letter with message id ${missing.join(', ')}`] : []
}
