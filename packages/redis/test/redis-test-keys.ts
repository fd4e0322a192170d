import type { OutboxMessage } from '@txbox/core'
import { serviceUrls } from '@txbox/testing'
import { type Cluster, Redis, type RedisOptions } from 'ioredis'

/** A client on the shared test Redis. The caller quits it. */
export function testRedis(options: RedisOptions = {}): Redis {
  return new Redis(serviceUrls().redisUrl, options)
}

/** Deletes every key starting with `prefix` (each test file uses its own prefix, so this never touches other files' keys). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/** A stream's entries as `{ id, fields }`, fields as an object (last value wins). */
export async function readStream(redis: Redis | Cluster, stream: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const entries = await redis.xrange(stream, '-', '+')
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string
    return { id, fields }
  })
}

/** An outbox message as the relay hands it to a publisher. */
export function outboxMessage(topic: string, overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  const n = Math.random().toString(36).slice(2)
  return {
    id: '1',
    messageId: `m-${n}`,
    topic,
    key: null,
    payload: '{"n": 1}',
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

/** {@link deleteKeys} on every master of a cluster, one key per DEL (keys of different slots cannot share a command). */
export async function deleteClusterKeys(cluster: Cluster, prefix: string): Promise<void> {
  for (const node of cluster.nodes('master')) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      for (const key of keys) await node.del(key)
      cursor = next
    } while (cursor !== '0')
  }
}
