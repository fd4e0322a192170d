import type { Kysely } from 'kysely'
import { isKysely, runText } from '../sql-executor.js'
import type { Executor } from './executor.js'

/**
 * Kysely: a transaction from `db.transaction()` / `db.startTransaction()` or
 * one withTransaction handed out. withTransaction opens Kysely transactions
 * itself (with-transaction.ts), so this executor only recognises and runs.
 */
export const kyselyExecutor: Executor = {
  name: 'Kysely',
  recognises: (handle) => isKysely(handle),
  notInTransaction(handle) {
    if ((handle as Kysely<any>).isTransaction) return undefined
    // Kysely does not say whether a db.transaction().execute() callback is
    // running, so the advice covers the caller who is inside one already.
    return 'enqueueOnCommit was given the Kysely instance (db), not a transaction, so the message would be published whether or not your data commits: pass the `trx` your callback receives, as in withTransaction(db, async (trx) => { await enqueueOnCommit(trx, message) }) or db.transaction().execute(async (trx) => { await enqueueOnCommit(trx, message) }). Already inside such a callback? Then pass its trx instead of db.'
  },
  run: (handle, text, values) => runText(handle as Kysely<any>, text, values),
}
