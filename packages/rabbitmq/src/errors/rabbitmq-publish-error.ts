/**
 * Why RabbitMQ did not take a message:
 * - `returned`: no queue is bound for its routing key (basic.return of a mandatory message);
 * - `nacked`: the broker refused it (basic.nack);
 * - `channel-closed`: the channel or connection closed before the broker confirmed it;
 * - `unavailable`: no channel could be opened (broker down, exchange missing, ...);
 * - `aborted`: the relay stopped waiting (its publish timeout) before the broker confirmed it;
 * - `closed`: the publisher was closed.
 *
 * None is permanent: the message stays in the outbox and is retried.
 */
export type RabbitmqPublishFailure = 'returned' | 'nacked' | 'channel-closed' | 'unavailable' | 'aborted' | 'closed'

/** A message the RabbitMQ publisher could not get confirmed. Reported in its PublishResult, never thrown. */
export class RabbitmqPublishError extends Error {
  /** Why the message failed; stable, branch on this rather than on the text. */
  readonly reason: RabbitmqPublishFailure

  constructor(reason: RabbitmqPublishFailure, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RabbitmqPublishError'
    this.reason = reason
  }
}
