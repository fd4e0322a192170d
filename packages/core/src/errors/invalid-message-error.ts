import { TxboxError } from './txbox-error.js'

/**
 * A message given to `enqueueOnCommit` is malformed: empty topic, bad key,
 * headers that are not strings, an invalid delay. Thrown before any SQL runs,
 * so the caller's transaction is untouched.
 */
export class InvalidMessageError extends TxboxError {
  /** The offending field, e.g. `topic` or `messages[3].headers`. */
  readonly field: string

  constructor(field: string, message: string) {
    super('INVALID_MESSAGE', message)
    this.field = field
  }
}
