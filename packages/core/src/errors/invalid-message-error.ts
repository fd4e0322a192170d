import { TxboxError } from './txbox-error.js'

/**
 * A message given to `enqueueOnCommit` is malformed: an empty topic; a topic,
 * key, message id or header name over 255 bytes of UTF-8 (what an AMQP short
 * string holds); a string PostgreSQL cannot store (U+0000, an unpaired UTF-16
 * surrogate); headers that are not strings; a delay or availableAt outside
 * what a timestamp holds. Thrown before any SQL runs, so the caller's
 * transaction is untouched.
 */
export class InvalidMessageError extends TxboxError {
  /** The offending field, e.g. `topic` or `messages[3].headers`. */
  readonly field: string

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_MESSAGE', message, options)
    this.field = field
  }
}
