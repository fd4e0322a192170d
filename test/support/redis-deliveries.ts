import type { Redis } from 'ioredis'
import type { Delivery } from './invariants.js'

/**
 * Everything a stream holds, in arrival order (stream ids grow with arrival),
 * as deliveries for the invariant checker. Read in pages of 1000.
 */
export async function readStreamDeliveries(redis: Redis, stream: string): Promise<Delivery[]> {
  const out: Delivery[] = []
  let start = '-'
  for (;;) {
    const page = await redis.xrange(stream, start, '+', 'COUNT', 1000)
    for (const [, fields] of page) {
      const at = fields.indexOf('messageId')
      out.push({ messageId: at >= 0 ? (fields[at + 1] as string) : '' })
    }
    if (page.length < 1000) return out
    start = `(${(page[page.length - 1] as [string, string[]])[0]}`
  }
}
