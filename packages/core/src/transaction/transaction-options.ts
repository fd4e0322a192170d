import { callback, oneOf } from '../options/option-kinds.js'

/** SQL isolation levels, as Kysely names them. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'

/** Options of {@link withTransaction}. */
export interface TransactionOptions {
  /** Isolation level of a new top-level transaction. Ignored for a nested call (a savepoint). */
  isolationLevel?: IsolationLevel
  /** Access mode of a new top-level transaction. */
  accessMode?: 'read only' | 'read write'
  /**
   * Receives an error thrown by an onCommit or onRollback hook. Hooks run after
   * the transaction ended, so such an error can no longer change its outcome;
   * the other hooks still run. Default: logged with console.error.
   */
  onHookError?: (error: unknown) => void
}

export const ISOLATION_LEVELS: readonly IsolationLevel[] = [
  'read uncommitted',
  'read committed',
  'repeatable read',
  'serializable',
]

/** The options of {@link withTransaction}, declared once (processOnce takes two of them). */
export const TRANSACTION_OPTIONS = {
  isolationLevel: oneOf(ISOLATION_LEVELS, { description: 'Isolation level of a new top-level transaction (ignored for a savepoint).', defaultText: "the server's" }),
  accessMode: oneOf(['read only', 'read write'] as const, { description: 'Access mode of a new top-level transaction.', defaultText: "the server's" }),
  onHookError: callback<(error: unknown) => void>()({
    expected: 'a function (error) => void',
    description: 'Receives an error thrown by an onCommit or onRollback hook (the other hooks still run).',
    defaultText: 'console.error',
  }),
} as const
