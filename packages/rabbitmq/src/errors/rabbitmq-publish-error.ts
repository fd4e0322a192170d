import { BrokerPublishError } from '@txbox/core/adapter'

/**
 * Why RabbitMQ did not take a message:
 * - `returned`: no queue is bound for its routing key (basic.return of a mandatory message);
 * - `nacked`: the broker refused it (basic.nack);
 * - `channel-closed`: the channel or connection closed before the broker confirmed it;
 * - `unavailable`: no channel could be opened (broker down, exchange missing, ...);
 * - `aborted`: the relay stopped waiting (its publish timeout) before the broker confirmed it;
 * - `closed`: the publisher was closed;
 * - `unpublishable`: AMQP cannot carry the message as it is (a routing key,
 *   messageId or header name over 255 bytes of UTF-8, a header value that is
 *   not a string, headers too large for one frame). It was never sent.
 *
 * `unpublishable` is permanent: the relay moves the message to the dead
 * letters at once. All others are not: the message stays in the outbox and is
 * retried.
 */
export type RabbitmqPublishFailure = 'returned' | 'nacked' | 'channel-closed' | 'unavailable' | 'aborted' | 'closed' | 'unpublishable'

/**
 * A message the RabbitMQ publisher could not get confirmed (code
 * `RABBITMQ_PUBLISH`). Reported in its PublishResult, never thrown; `cause`
 * keeps amqplib's error when there is one. Fields as every adapter's publish
 * error: `reason`, `messageId` (`undefined` when the failure is the channel's
 * or the publisher's, shared by every message in flight on it).
 */
export class RabbitmqPublishError extends BrokerPublishError<RabbitmqPublishFailure> {
  constructor(reason: RabbitmqPublishFailure, message: string, options?: { cause?: unknown; messageId?: string }) {
    super('RABBITMQ_PUBLISH', reason, options?.messageId, message, options)
  }
}
