import { TxboxError } from '@txbox/core'

/**
 * {@link connectRedis} (what `broker.open()` and `txbox relay --broker-url
 * redis://…` call) could not get a working connection: Redis is not
 * reachable, refused the login, or wants a password (code `REDIS_CONNECT`).
 * The message says which and what to check, with the URL's password masked;
 * `cause` keeps ioredis' error.
 */
export class RedisConnectError extends TxboxError {
  /** The URL, password masked. */
  readonly address: string

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('REDIS_CONNECT', message, options)
    this.address = address
  }
}
