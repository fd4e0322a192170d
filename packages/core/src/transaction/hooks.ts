import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { NotInTransactionError } from '../errors/not-in-transaction-error.js'
import { findScope, type Hook } from './transaction-scope.js'

/**
 * Runs `hook` after the outermost transaction commits. In-memory only: it is
 * lost if the process dies after the commit. For anything that must happen,
 * enqueue a message with enqueueOnCommit instead.
 *
 * Dropped if the transaction, or the savepoint it was registered in, rolls back.
 */
export function onCommit(trx: object, hook: Hook): void {
  const scope = findScope(trx)
  if (!scope) throw notInTransaction('onCommit')
  if (typeof hook !== 'function') throw new InvalidOptionError('hook', 'onCommit(trx, hook): hook must be a function.')
  scope.addCommitHook(hook)
}

/**
 * Runs `hook` after a rollback of the transaction, or of the savepoint it was
 * registered in.
 */
export function onRollback(trx: object, hook: Hook): void {
  const scope = findScope(trx)
  if (!scope) throw notInTransaction('onRollback')
  if (typeof hook !== 'function') throw new InvalidOptionError('hook', 'onRollback(trx, hook): hook must be a function.')
  scope.addRollbackHook(hook)
}

function notInTransaction(fn: string): NotInTransactionError {
  return new NotInTransactionError(
    `${fn}(trx, hook) needs a transaction opened by withTransaction(db, async (trx) => ...): pass that trx (or call it inside the callback with the same db). Hooks cannot be attached to transactions txbox did not open.`,
  )
}
