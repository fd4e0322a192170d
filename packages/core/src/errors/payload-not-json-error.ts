import { TxboxError } from './txbox-error.js'

/**
 * A payload that JSON cannot represent faithfully (BigInt, a cycle, a
 * function, a symbol, `undefined`, a non-finite number, a Map or a Set, a
 * getter or `toJSON()` that throws, nesting deeper than JavaScript can walk),
 * or that PostgreSQL's jsonb cannot store: U+0000 or an unpaired UTF-16
 * surrogate in a string or a property name. Thrown before any SQL runs, so the
 * caller's transaction is untouched. (Headers are checked as strings, and
 * refused with InvalidMessageError.)
 */
export class PayloadNotJsonError extends TxboxError {
  /** Where in the payload the problem is, as a JSON path such as `$.user.id`. */
  readonly path: string

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('PAYLOAD_NOT_JSON', message, options)
    this.path = path
  }
}
