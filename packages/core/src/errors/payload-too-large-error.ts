import { TxboxError } from './txbox-error.js'

/** A serialised payload is larger than the `maxPayloadBytes` limit. */
export class PayloadTooLargeError extends TxboxError {
  readonly bytes: number
  readonly limit: number

  constructor(field: string, bytes: number, limit: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${field} is ${bytes} bytes as JSON, over the limit of ${limit}. Store large data in your own table or object storage and enqueue a reference to it, or raise maxPayloadBytes.`,
    )
    this.bytes = bytes
    this.limit = limit
  }
}
