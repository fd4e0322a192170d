import { AsyncLocalStorage } from 'node:async_hooks'
import type { Executor } from '../executors/executor.js'

/** A hook registered with onCommit / onRollback. */
export type Hook = () => unknown

interface RegisteredHook {
  readonly fn: Hook
  /** The scope (transaction or savepoint) it was registered in. */
  readonly scope: TransactionScope
}

/**
 * One level of a transaction opened by withTransaction: the top-level
 * transaction or a savepoint in it. Hooks are kept in one list per top-level
 * transaction, in registration order, each tagged with the scope that
 * registered it, so that rolling back a savepoint drops exactly the hooks of
 * that savepoint and of the savepoints nested in it.
 */
export class TransactionScope {
  readonly root: TransactionScope
  /** The client withTransaction was given (the pool side: a Kysely instance, a PrismaClient…), used for after-commit work. */
  readonly db: object
  /** The transaction handle handed to the callback (the ORM's own). */
  readonly trx: object
  /** Runs SQL on `db` and `trx`. */
  readonly executor: Executor
  readonly parent: TransactionScope | undefined
  /** False once this scope committed, rolled back or was released. */
  active = true
  /** Where errors thrown by hooks go (set on the top-level scope). */
  onHookError: (error: unknown) => void = defaultHookErrorHandler
  /** Keys of after-commit work registered once per transaction (e.g. a relay wake-up per channel). */
  readonly onceKeys = new Set<string>()
  private readonly commitHooks: RegisteredHook[] = []
  private readonly rollbackHooks: RegisteredHook[] = []
  private savepointCounter = 0

  constructor(db: object, trx: object, executor: Executor, parent?: TransactionScope) {
    this.db = db
    this.trx = trx
    this.executor = executor
    this.parent = parent
    this.root = parent?.root ?? this
  }

  nextSavepointName(): string {
    this.root.savepointCounter += 1
    return `txbox_sp_${this.root.savepointCounter}`
  }

  addCommitHook(fn: Hook): void {
    this.root.commitHooks.push({ fn, scope: this })
  }

  addRollbackHook(fn: Hook): void {
    this.root.rollbackHooks.push({ fn, scope: this })
  }

  /** Whether `scope` is this one or nested in it. */
  private contains(scope: TransactionScope): boolean {
    for (let s: TransactionScope | undefined = scope; s; s = s.parent) if (s === this) return true
    return false
  }

  /**
   * This savepoint rolled back: its commit hooks are dropped, and its rollback
   * hooks are removed and returned to be run now.
   */
  takeHooksOfRolledBackSavepoint(): Hook[] {
    const root = this.root
    const keep = root.commitHooks.filter((h) => !this.contains(h.scope))
    root.commitHooks.splice(0, root.commitHooks.length, ...keep)
    const run = root.rollbackHooks.filter((h) => this.contains(h.scope)).map((h) => h.fn)
    const keepRollback = root.rollbackHooks.filter((h) => !this.contains(h.scope))
    root.rollbackHooks.splice(0, root.rollbackHooks.length, ...keepRollback)
    return run
  }

  commitHooksInOrder(): Hook[] {
    return this.root.commitHooks.map((h) => h.fn)
  }

  rollbackHooksInOrder(): Hook[] {
    return this.root.rollbackHooks.map((h) => h.fn)
  }
}

/** The scope of the transaction the current async context runs in, if any. */
export const currentScope = new AsyncLocalStorage<TransactionScope>()

/** Scopes by the transaction object handed to the user's callback. */
const scopesByTransaction = new WeakMap<object, TransactionScope>()

/**
 * Makes `scope` the one its transaction handle stands for, and returns the
 * function that undoes it when the scope ends. Some ORMs hand a savepoint the
 * same handle as its transaction (TypeORM's manager): the savepoint's scope
 * stands for it until the savepoint ends, then the outer scope again.
 */
export function registerScope(scope: TransactionScope): () => void {
  const previous = scopesByTransaction.get(scope.trx)
  scopesByTransaction.set(scope.trx, scope)
  return () => {
    if (scopesByTransaction.get(scope.trx) !== scope) return
    if (previous) scopesByTransaction.set(scope.trx, previous)
    else scopesByTransaction.delete(scope.trx)
  }
}

/**
 * The active scope `runner` stands for: the scope of a transaction object
 * withTransaction handed out, or, for the root Kysely instance or ORM client, the active
 * scope of the current async context opened on that same instance (or client).
 */
export function findScope(runner: unknown): TransactionScope | undefined {
  // knex's and postgres.js's handles are functions.
  if ((typeof runner !== 'object' && typeof runner !== 'function') || runner === null) return undefined
  const direct = scopesByTransaction.get(runner)
  if (direct) return direct.active ? direct : undefined
  const ambient = currentScope.getStore()
  if (ambient?.active && ambient.root.db === runner) return ambient
  return undefined
}

function defaultHookErrorHandler(error: unknown): void {
  console.error('[txbox] an onCommit/onRollback hook threw; the transaction outcome is unchanged:', error)
}
