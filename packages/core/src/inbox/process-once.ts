import type { Kysely, Transaction } from 'kysely'
import { checkValue, resolveOptions } from '../options/resolve-options.js'
import { resolveTableNames } from '../schema/table-names.js'
import { recordMessage } from '../sql/inbox/record-message.js'
import { runSql } from '../sql/run-sql.js'
import type { TransactionOptions } from '../transaction/transaction-options.js'
import { withTransaction } from '../transaction/with-transaction.js'
import type { ProcessOnceOptions, ProcessOnceResult } from './inbox-options.js'
import { inboxRecordId } from './inbox-record-id.js'
import { HANDLER_ARGUMENT, MESSAGE_ID_ARGUMENT, PROCESS_ONCE_OPTIONS } from './validate-inbox-input.js'

const DUPLICATE = Object.freeze({ status: 'duplicate' as const })

/**
 * Runs a consumer's `handler` at most once per message id (per consumer): in
 * one transaction it records the id in the inbox and runs the handler, so the
 * handler's writes and the record commit or roll back together.
 *
 * - An id already recorded: the handler does not run; resolves `{ status: 'duplicate' }`.
 * - The handler throws: its writes and the record roll back, the error is
 *   rethrown, and a redelivery runs the handler again.
 * - Two deliveries of one id at once: the record is inserted first, so the
 *   second waits on the first's row lock; it then sees the record (a
 *   duplicate) if the first committed, or runs the handler if it rolled back.
 *   Under `repeatable read` or `serializable` the second instead fails with a
 *   serialization error (SQLSTATE 40001); retry it and it comes out a duplicate.
 *
 * Any non-empty string is an id: one longer than 512 bytes (or holding a NUL
 * or a lone surrogate, which PostgreSQL text cannot keep apart) is recorded as
 * its SHA-256 digest, so that it fits the inbox index.
 *
 * Called inside `withTransaction` on the same `db`, it runs in a savepoint of
 * that transaction, and the record commits with it. `onCommit` hooks work in
 * the handler. Records are kept until {@link pruneInbox} removes them.
 *
 * @example
 * const outcome = await processOnce(db, message.messageId, async (trx) => {
 *   await trx.insertInto('payments').values(row).execute()
 * }, { consumer: 'billing' })
 * if (outcome.status === 'duplicate') log.info('already processed')
 */
export async function processOnce<DB, T>(
  db: Kysely<DB>,
  messageId: string,
  handler: (trx: Transaction<DB>) => Promise<T>,
  options: ProcessOnceOptions = {},
): Promise<ProcessOnceResult<T>> {
  const resolved = resolveOptions('processOnce', PROCESS_ONCE_OPTIONS, options)
  const consumer = resolved.consumer ?? ''
  checkValue('processOnce(db, messageId, handler)', 'messageId', MESSAGE_ID_ARGUMENT, messageId)
  checkValue('processOnce(db, messageId, handler)', 'handler', HANDLER_ARGUMENT, handler)
  const names = resolveTableNames(resolved)
  const transactionOptions: TransactionOptions = {}
  if (resolved.isolationLevel !== undefined) transactionOptions.isolationLevel = resolved.isolationLevel
  if (resolved.onHookError !== undefined) transactionOptions.onHookError = resolved.onHookError

  return withTransaction(
    db,
    async (trx): Promise<ProcessOnceResult<T>> => {
      // The record goes in before the handler runs: a concurrent delivery of
      // the same id blocks here on our uncommitted row until we end, instead
      // of running its handler next to ours.
      // A long id goes in as its digest; a record an older version made of
      // the id itself (it fit the index) still counts.
      const id = inboxRecordId(messageId)
      const { rows: inserted } = await runSql(trx, recordMessage(names, { consumer, stored: id.stored, legacy: id.legacy }))
      if (inserted.length === 0) return DUPLICATE
      return { status: 'processed', result: await handler(trx) }
    },
    transactionOptions,
  )
}
