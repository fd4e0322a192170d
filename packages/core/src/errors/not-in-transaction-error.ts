import { TxboxError } from './txbox-error.js'

/**
 * `enqueueOnCommit`, `onCommit` or `onRollback` was called without a
 * transaction to attach to. Enqueuing outside a transaction would publish a
 * message whether or not your data commits, which is what txbox exists to
 * prevent.
 */
export class NotInTransactionError extends TxboxError {
  constructor(message: string) {
    super('NOT_IN_TRANSACTION', message)
  }
}
