import { TxboxError } from '../errors/txbox-error.js'

/**
 * What every adapter's publish error is (`RedisPublishError`,
 * `RabbitmqPublishError`, `BullmqPublishError`, `NatsPublishError`): a
 * message the broker did not take, reported in its `PublishResult` (never
 * thrown). One shape for all: `reason`, a stable value of the adapter's own
 * list to branch on (the text may be reworded), and `messageId`. Adapters add
 * where the message was going (`stream`, `queue`, `subject`, ...).
 */
export abstract class BrokerPublishError<Reason extends string> extends TxboxError {
  /** Why the message failed; stable, branch on this rather than on the text. */
  readonly reason: Reason
  /** The message it is about; `undefined` for a failure of the whole batch before any message was sent (no channel, a closed publisher). */
  readonly messageId: string | undefined

  constructor(code: string, reason: Reason, messageId: string | undefined, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.reason = reason
    this.messageId = messageId
  }
}
