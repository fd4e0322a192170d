import type { ControlledTransaction, Kysely, Transaction } from 'kysely'
import { NotInTransactionError } from '../errors/not-in-transaction-error.js'
import { requireKysely } from '../options/database-option.js'
import { callback } from '../options/option-kinds.js'
import { checkValue, resolveOptions } from '../options/resolve-options.js'
import { currentScope, findScope, type Hook, registerScope, TransactionScope } from './transaction-scope.js'
import { TRANSACTION_OPTIONS, type TransactionOptions } from './transaction-options.js'

const TRANSACTION_FUNCTION = callback()({ required: true, expected: 'an async function receiving the transaction', description: 'Runs in the transaction.' })

/**
 * Runs `fn` in a transaction and returns its result.
 *
 * - Commit: when `fn` resolves, the transaction commits, then the onCommit
 *   hooks run in registration order, each awaited; the returned promise
 *   settles after them. A hook that throws goes to `onHookError` and never
 *   turns the committed transaction into a rejection.
 * - Rollback: when `fn` throws, the transaction rolls back, the onRollback
 *   hooks run, and the error is rethrown.
 * - Nesting: called with the transaction it handed out, or with the same `db`
 *   inside `fn` (found through AsyncLocalStorage), it opens a savepoint.
 *   A savepoint that rolls back drops the onCommit hooks registered in it and
 *   runs its onRollback hooks; the outer transaction carries on.
 *
 * @example
 * const user = await withTransaction(db, async (trx) => {
 *   const user = await trx.insertInto('users').values(v).returningAll().executeTakeFirstOrThrow()
 *   await enqueueOnCommit(trx, { topic: 'email.welcome', key: `user:${user.id}`, payload: { userId: user.id } })
 *   return user
 * })
 */
export async function withTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  resolveOptions('withTransaction', TRANSACTION_OPTIONS, options)
  requireKysely('withTransaction(db, fn)', db)
  checkValue('withTransaction(db, fn)', 'fn', TRANSACTION_FUNCTION, fn)
  const parent = findScope(db)
  if (parent) return inSavepoint(parent, fn as (trx: Transaction<any>) => Promise<T>)
  if (db.isTransaction) {
    throw new NotInTransactionError(
      'withTransaction was given a transaction it did not open (from db.transaction() or db.startTransaction()), so it cannot run hooks when that transaction commits. Pass the Kysely instance instead, and nest calls to withTransaction for savepoints.',
    )
  }
  return topLevel(db as Kysely<any>, fn as (trx: Transaction<any>) => Promise<T>, options)
}

async function topLevel<T>(db: Kysely<any>, fn: (trx: Transaction<any>) => Promise<T>, options: TransactionOptions): Promise<T> {
  let builder = db.startTransaction()
  if (options.isolationLevel) builder = builder.setIsolationLevel(options.isolationLevel)
  if (options.accessMode) builder = builder.setAccessMode(options.accessMode)
  const trx = await builder.execute()
  const scope = new TransactionScope(db, trx)
  if (options.onHookError) scope.onHookError = options.onHookError
  registerScope(scope)

  let result: T
  try {
    result = await currentScope.run(scope, () => fn(trx))
  } catch (error) {
    scope.active = false
    await rollbackQuietly(trx, error)
    await runHooks(scope.rollbackHooksInOrder(), scope.onHookError)
    throw error
  }
  scope.active = false
  try {
    await trx.commit().execute()
  } catch (error) {
    // COMMIT failed (a serialisation failure, a deferred constraint, a lost
    // connection): the data did not commit, so neither did the outbox rows.
    await rollbackQuietly(trx, error)
    await runHooks(scope.rollbackHooksInOrder(), scope.onHookError)
    throw error
  }
  await runHooks(scope.commitHooksInOrder(), scope.onHookError)
  return result
}

async function inSavepoint<T>(parent: TransactionScope, fn: (trx: Transaction<any>) => Promise<T>): Promise<T> {
  const name = parent.nextSavepointName()
  // Kysely types savepoint names statically; ours are generated at run time.
  const controlled = parent.trx as ControlledTransaction<any, any>
  const trx = await controlled.savepoint(name as never).execute()
  const scope = new TransactionScope(parent.root.db, trx, parent)
  registerScope(scope)
  try {
    const result = await currentScope.run(scope, () => fn(trx))
    scope.active = false
    await trx.releaseSavepoint(name as never).execute()
    return result
  } catch (error) {
    scope.active = false
    // If this fails (the connection is gone), the whole transaction is lost
    // anyway; the caller needs the original error, not the ROLLBACK's.
    await trx.rollbackToSavepoint(name as never).execute().catch(() => {})
    await trx.releaseSavepoint(name as never).execute().catch(() => {})
    await runHooks(scope.takeHooksOfRolledBackSavepoint(), parent.root.onHookError)
    throw error
  }
}

async function rollbackQuietly(trx: ControlledTransaction<any, any>, original: unknown): Promise<void> {
  try {
    await trx.rollback().execute()
  } catch (rollbackError) {
    // The original error is the one the caller needs; a failed ROLLBACK (the
    // connection is gone) changes nothing: PostgreSQL rolls back on disconnect.
    if (original instanceof Error && original.cause === undefined) {
      Object.defineProperty(original, 'rollbackError', { value: rollbackError, enumerable: false })
    }
  }
}

async function runHooks(hooks: readonly Hook[], onHookError: (error: unknown) => void): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook()
    } catch (error) {
      try {
        onHookError(error)
      } catch {
        // An error handler that throws must not break the remaining hooks.
      }
    }
  }
}
