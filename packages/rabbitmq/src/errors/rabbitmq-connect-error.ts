import { TxboxError } from '@txbox/core'

/**
 * `broker.open()` (what `txbox relay --broker-url amqp://…` calls) could not
 * log in: RabbitMQ is not reachable, refused the user or password, or did not
 * open the URL's virtual host (code `RABBITMQ_CONNECT`). The message says
 * which and what to check, with the URL's password masked; `cause` keeps
 * amqplib's error.
 */
export class RabbitmqConnectError extends TxboxError {
  /** The URL, password masked. */
  readonly address: string

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('RABBITMQ_CONNECT', message, options)
    this.address = address
  }
}
