import { createHash } from 'node:crypto'
import type { RedisCommandClient } from './redis-client.js'

/**
 * A Lua script sent by its SHA1 (EVALSHA), and in full (EVAL) only when Redis
 * does not know it yet (NOSCRIPT: first use, a restart, SCRIPT FLUSH). The
 * consumer runs its scripts for every entry, and the publisher for every
 * batch, so the text is not resent each time.
 */
export class RedisScript {
  private readonly sha: string

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /** EVALSHA; EVAL if Redis answers NOSCRIPT (which means the script did not run: sending it again is safe). */
  async run(redis: RedisCommandClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.call('EVALSHA', this.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
      return this.evaluate(redis, keys, args)
    }
  }

  /** EVAL, which also caches the script on that server: for a server that has likely not seen it yet, where EVALSHA would cost a NOSCRIPT round trip. */
  evaluate(redis: RedisCommandClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return redis.call('EVAL', this.source, keys.length, ...keys, ...args)
  }
}
