import type { ControlledTransaction, Kysely, Transaction } from 'kysely'
import { NotInTransactionError } from '../errors/not-in-transaction-error.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { kyselyExecutor } from '../executors/kysely-executor.js'
import { pickExecutor } from '../executors/pick-executor.js'
import { callback } from '../options/option-kinds.js'
import { checkValue, resolveOptions } from '../options/resolve-options.js'
import { isKysely } from '../sql-executor.js'
import { inOrmSavepoint, inOrmTransaction } from './orm-transaction.js'
import { runHooks } from './run-hooks.js'
import type { TransactionOf } from './transaction-of.js'
import { currentScope, findScope, registerScope, TransactionScope } from './transaction-scope.js'
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
 * - Other ORMs: `db` may also be a PrismaClient, a Drizzle db (node-postgres
 *   or postgres.js), a TypeORM DataSource, a MikroORM EntityManager, a
 *   Sequelize instance, knex or postgres.js's `sql`. withTransaction opens
 *   that ORM's own transaction and hands `fn` the ORM's handle (`tx`,
 *   `manager`, `em`, `t`…); nesting uses the ORM's own savepoints.
 *
 * @example
 * const user = await withTransaction(db, async (trx) => {
 *   const user = await trx.insertInto('users').values(v).returningAll().executeTakeFirstOrThrow()
 *   await enqueueOnCommit(trx, { topic: 'email.welcome', key: `user:${user.id}`, payload: { userId: user.id } })
 *   return user
 * })
 */
export function withTransaction<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>, options?: TransactionOptions): Promise<T>
export function withTransaction<C extends object, T>(client: C, fn: (tx: TransactionOf<C>) => Promise<T>, options?: TransactionOptions): Promise<T>
export async function withTransaction<T>(db: object, fn: (trx: any) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  resolveOptions('withTransaction', TRANSACTION_OPTIONS, options)
  checkValue('withTransaction(db, fn)', 'fn', TRANSACTION_FUNCTION, fn)
  const parent = findScope(db)
  if (parent) return parent.executor === kyselyExecutor ? inSavepoint(parent, fn) : inOrmSavepoint(parent, fn)
  if (isKysely(db)) {
    if (db.isTransaction) throw notOpenedHere()
    return topLevel(db as Kysely<any>, fn, options)
  }
  const executor = pickExecutor(db)
  if (!executor?.transaction) {
    throw new InvalidOptionError(
      'db',
      `withTransaction(db, fn): db must be a Kysely instance or the client of a supported ORM (a PrismaClient, a Drizzle db, a TypeORM DataSource, a MikroORM EntityManager, a Sequelize instance, knex, postgres.js's sql), got ${executor ? `a ${executor.name} client` : db === null ? 'null' : typeof db}.`,
    )
  }
  if (executor.notInTransaction(db) === undefined) throw notOpenedHere()
  return inOrmTransaction(executor, db, fn, options)
}

function notOpenedHere(): NotInTransactionError {
  return new NotInTransactionError(
    'withTransaction was given a transaction it did not open, so it cannot run hooks when that transaction commits. Pass the client (the Kysely instance, the PrismaClient, the Drizzle db…) instead, and nest calls to withTransaction for savepoints.',
  )
}

async function topLevel<T>(db: Kysely<any>, fn: (trx: Transaction<any>) => Promise<T>, options: TransactionOptions): Promise<T> {
  let builder = db.startTransaction()
  if (options.isolationLevel) builder = builder.setIsolationLevel(options.isolationLevel)
  if (options.accessMode) builder = builder.setAccessMode(options.accessMode)
  const trx = await builder.execute()
  const scope = new TransactionScope(db, trx, kyselyExecutor)
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
  const scope = new TransactionScope(parent.root.db, trx, kyselyExecutor, parent)
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
