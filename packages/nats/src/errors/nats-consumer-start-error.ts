import { TxboxError } from '@txbox/core'

/**
 * {@link consumeNats} could not start: the stream does not exist, the durable
 * consumer exists with settings it cannot work with (a push consumer, an ack
 * policy other than explicit, another filter), its dead letters would be read
 * back by itself, or NATS did not answer. The message says which and what to
 * do; `cause` keeps the NATS client's error when there is one.
 */
export class NatsConsumerStartError extends TxboxError {
  readonly stream: string
  readonly durable: string

  constructor(stream: string, durable: string, reason: string, options?: { cause?: unknown }) {
    super('NATS_CONSUMER_START', `consumeNats: cannot consume stream "${stream}" as durable consumer "${durable}": ${reason}`, options)
    this.stream = stream
    this.durable = durable
  }
}
