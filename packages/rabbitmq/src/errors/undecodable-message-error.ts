/**
 * A delivery the consumer cannot turn into a message (no `messageId`, a body
 * that is not JSON). It is rejected without requeue at once, so a dead-letter
 * exchange takes it; retrying would never help.
 */
export class UndecodableMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'UndecodableMessageError'
  }
}
