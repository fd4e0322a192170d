import type { Executor } from '../executors/executor.js'
import { runHooks } from './run-hooks.js'
import { currentScope, registerScope, TransactionScope } from './transaction-scope.js'
import type { TransactionOptions } from './transaction-options.js'

/**
 * withTransaction on an ORM's client: the ORM opens, commits and rolls back
 * its own transaction (its callback form: `prisma.$transaction(fn)`,
 * `db.transaction(fn)`…); txbox keeps the scope of hooks around the callback
 * and runs them once the ORM's promise says how the transaction ended.
 */
export async function inOrmTransaction<T>(executor: Executor, client: object, fn: (tx: any) => Promise<T>, options: TransactionOptions): Promise<T> {
  const open = executor.transaction
  if (!open) throw new Error(`txbox: withTransaction cannot open ${executor.name} transactions.`)
  let scope: TransactionScope | undefined
  let result: T
  try {
    result = await open(
      client,
      async (tx) => {
        const s = new TransactionScope(client, tx, executor)
        scope = s
        if (options.onHookError) s.onHookError = options.onHookError
        const unregister = registerScope(s)
        try {
          await setCharacteristics(executor, tx, options)
          return await currentScope.run(s, () => fn(tx))
        } finally {
          // From here on the transaction commits or rolls back: hooks and
          // enqueues no longer belong to it.
          s.active = false
          unregister()
        }
      },
      options,
    )
  } catch (error) {
    // fn threw, or COMMIT failed (a serialisation failure, a lost
    // connection): either way the data did not commit, nor did the outbox rows.
    if (scope) await runHooks(scope.rollbackHooksInOrder(), scope.onHookError)
    throw error
  }
  const committed = scope as TransactionScope
  await runHooks(committed.commitHooksInOrder(), committed.onHookError)
  return result
}

/** A nested withTransaction on an ORM's transaction: the ORM's own savepoint. */
export async function inOrmSavepoint<T>(parent: TransactionScope, fn: (tx: any) => Promise<T>): Promise<T> {
  const executor = parent.executor
  const savepoint = executor.savepoint
  if (!savepoint) throw new Error(`txbox: withTransaction cannot nest ${executor.name} transactions.`)
  let scope: TransactionScope | undefined
  try {
    return await savepoint(parent.trx, async (tx) => {
      const s = new TransactionScope(parent.root.db, tx, executor, parent)
      scope = s
      const unregister = registerScope(s)
      try {
        return await currentScope.run(s, () => fn(tx))
      } finally {
        s.active = false
        unregister()
      }
    })
  } catch (error) {
    if (scope) await runHooks(scope.takeHooksOfRolledBackSavepoint(), parent.root.onHookError)
    throw error
  }
}

/**
 * Isolation level and access mode, set as the transaction's first statement
 * (PostgreSQL accepts SET TRANSACTION until the first query), the same way
 * for every ORM. The values come from the validated lists, never from input text.
 */
async function setCharacteristics(executor: Executor, tx: object, options: TransactionOptions): Promise<void> {
  const parts: string[] = []
  if (options.isolationLevel) parts.push(`ISOLATION LEVEL ${options.isolationLevel.toUpperCase()}`)
  if (options.accessMode) parts.push(options.accessMode.toUpperCase())
  if (parts.length > 0) await executor.run(tx, `SET TRANSACTION ${parts.join(', ')}`, [])
}
