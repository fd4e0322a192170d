import { TxboxError } from './txbox-error.js'

/**
 * A serialised payload is larger than the `maxPayloadBytes` limit, or the
 * messages of one `enqueueOnCommit` call are larger, together, than one
 * statement surely carries (128 MiB of JSON).
 */
export class PayloadTooLargeError extends TxboxError {
  /** The size found, in UTF-8 bytes of JSON. */
  readonly bytes: number
  /** The limit it is over, in bytes. */
  readonly limit: number

  constructor(field: string, bytes: number, limit: number, message?: string) {
    super(
      'PAYLOAD_TOO_LARGE',
      message ??
        `${field} is ${bytes} bytes as JSON, over the limit of ${limit}. Store large data in your own table or object storage and enqueue a reference to it, or raise maxPayloadBytes (up to 32 MiB).`,
    )
    this.bytes = bytes
    this.limit = limit
  }
}
