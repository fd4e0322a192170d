import { TxboxError } from '@txbox/core'

/**
 * `broker.open()` (what `txbox relay --broker-url nats://…` calls) could not
 * get a JetStream publisher going: NATS is not reachable at the URL, refused
 * the credentials, has no JetStream for this account, or no stream captures
 * the `subject` flag. The message says which, with the URL's password masked;
 * `cause` keeps the NATS client's error.
 */
export class NatsConnectError extends TxboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_CONNECT', message, options)
  }
}
