/**
 * Stable machine-readable codes, one per error class. Branch on these (or on
 * `instanceof`), never on message text: messages may be reworded.
 */
export type TxboxErrorCode =
  | 'INVALID_MESSAGE'
  | 'PAYLOAD_NOT_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_IDENTIFIER'
  | 'INVALID_OPTION'
  | 'NOT_IN_TRANSACTION'
  | 'SCHEMA_NOT_MIGRATED'
  | 'PUBLISH_TIMEOUT'

/**
 * The base of every error txbox throws on purpose. `code` is stable; `cause`
 * keeps the underlying error (a driver error, a serialisation error) when there
 * is one. Adapters extend it with codes of their own (`REDIS_STREAM_WRITE`, ...).
 */
export class TxboxError extends Error {
  readonly code: TxboxErrorCode | (string & {})

  constructor(code: TxboxErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
