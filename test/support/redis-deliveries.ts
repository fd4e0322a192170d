import type { Redis } from 'ioredis'
import type { Delivery } from './invariants.js'

/** One stream entry: its id (`<ms>-<seq>`) and its fields by name. */
export interface StreamEntry {
  readonly id: string
  readonly fields: ReadonlyMap<string, string>
}

/** Everything a stream holds, in arrival order (stream ids grow with arrival). Read in pages of 1000. */
export async function readStreamEntries(redis: Redis, stream: string): Promise<StreamEntry[]> {
  const out: StreamEntry[] = []
  let start = '-'
  for (;;) {
    const page = await redis.xrange(stream, start, '+', 'COUNT', 1000)
    for (const [id, flat] of page) {
      const fields = new Map<string, string>()
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string)
      out.push({ id, fields })
    }
    if (page.length < 1000) return out
    start = `(${(page[page.length - 1] as [string, string[]])[0]}`
  }
}

/** Everything a stream holds, in arrival order, as deliveries for the invariant checker. */
export async function readStreamDeliveries(redis: Redis, stream: string): Promise<Delivery[]> {
  return (await readStreamEntries(redis, stream)).map((e) => ({ messageId: e.fields.get('messageId') ?? '' }))
}
