import type { TransactionOptions } from '../transaction/transaction-options.js'

/** Rows returned by a statement, as the driver parsed them. */
export interface SqlRows {
  readonly rows: any[]
}

/**
 * What txbox needs from one kind of database handle (an ORM's transaction, a
 * driver's client): recognise it, tell whether it is inside a transaction, run
 * a parameterised statement through it. One executor per ORM, each in its own
 * file; pick-executor.ts chooses among them. Executors type only the subset of
 * each ORM they use, so no ORM is a dependency of the core.
 */
export interface Executor {
  /** The ORM or driver, as users name it (for messages). */
  readonly name: string
  /** Whether `handle` is a handle of this ORM (a transaction or a root client). */
  recognises(handle: object): boolean
  /**
   * Undefined when `handle` is inside a transaction; otherwise the message of
   * the NotInTransactionError to throw, naming the call that gives a
   * transaction in this ORM.
   */
  notInTransaction(handle: object): string | undefined
  /**
   * Runs one statement with `$1…$n` placeholders on `handle`, values always
   * as parameters. Also used on a root client (for the after-commit signal).
   */
  run(handle: object, text: string, values: readonly unknown[]): Promise<SqlRows>
  /**
   * For withTransaction: opens the ORM's own transaction on a root client and
   * calls `fn` with the ORM's transaction handle. Settles after COMMIT (or
   * ROLLBACK). Absent where txbox does not open transactions for this ORM.
   */
  transaction?<T>(client: object, fn: (tx: object) => Promise<T>, options: TransactionOptions): Promise<T>
  /**
   * For a nested withTransaction: runs `fn` in a savepoint of `tx`, with the
   * handle the ORM gives for it (which may be `tx` itself).
   */
  savepoint?<T>(tx: object, fn: (tx: object) => Promise<T>): Promise<T>
}
