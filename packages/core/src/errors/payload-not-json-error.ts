import { TxboxError } from './txbox-error.js'

/**
 * A payload (or header value) that JSON cannot represent faithfully: BigInt,
 * a cycle, a function, a symbol, `undefined`, a non-finite number, or a string
 * containing U+0000 (which PostgreSQL's jsonb rejects). Thrown before any SQL
 * runs, so the caller's transaction is untouched.
 */
export class PayloadNotJsonError extends TxboxError {
  /** Where in the payload the problem is, as a JSON path such as `$.user.id`. */
  readonly path: string

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('PAYLOAD_NOT_JSON', message, options)
    this.path = path
  }
}
