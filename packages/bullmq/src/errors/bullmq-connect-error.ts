import { TxboxError } from '@txbox/core'

/**
 * `broker.open(url)` could not reach Redis, or Redis refused the credentials
 * (code `BULLMQ_CONNECT`). The message names the address (without its
 * password) and Redis' or the socket's own reason; `cause` keeps the error.
 */
export class BullmqConnectError extends TxboxError {
  /** The URL, password masked. */
  readonly address: string

  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    super('BULLMQ_CONNECT', `cannot use Redis at ${address} for BullMQ: ${reason}. Check the host, port and password of the broker URL.`, options)
    this.address = address
  }
}
