import { TxboxError } from '@txbox/core'

/**
 * A delivery the consumer cannot turn into a message (no `messageId`, a body
 * that is not JSON), code `RABBITMQ_UNDECODABLE_MESSAGE`. It is rejected
 * without requeue at once, so a dead-letter exchange takes it; retrying would
 * never help. Passed to `onError`, never thrown.
 */
export class UndecodableMessageError extends TxboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RABBITMQ_UNDECODABLE_MESSAGE', message, options)
  }
}
