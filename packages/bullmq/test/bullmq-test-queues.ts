import type { OutboxMessage } from '@txbox/core'
import { serviceUrls, uniqueName, waitForValue } from '@txbox/testing'
import { type Job, type Processor, Worker, type WorkerOptions } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'

/** A client on the shared test Redis. The caller quits it. */
export function testRedis(options: RedisOptions = {}): Redis {
  return new Redis(serviceUrls().redisUrl, options)
}

/** A BullMQ key prefix of the calling test file's own: no other file's queues share its keys. */
export function testPrefix(name: string): string {
  return uniqueName(`bq_${name}`)
}

/** Removes every queue under `prefix` (what obliterating each would do, and the queues a test only named). */
export async function removeQueues(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
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

/** A real BullMQ Worker on the test Redis that records the jobs it ran, in the order it ran them. */
export class RecordingWorker {
  readonly processed: Job[] = []
  readonly worker: Worker

  constructor(queue: string, prefix: string, processor: Processor = async () => undefined, options: Partial<WorkerOptions> = {}) {
    this.worker = new Worker(
      queue,
      async (job, token, signal) => {
        this.processed.push(job)
        return processor(job, token, signal)
      },
      { connection: { url: serviceUrls().redisUrl }, prefix, concurrency: 1, ...options },
    )
    this.worker.on('error', () => {})
  }

  /** Resolves with the first `count` jobs run, or fails after a bounded wait. */
  async ran(count: number, timeoutMs = 10_000): Promise<Job[]> {
    await waitForValue(
      () => this.processed.length,
      (n) => n >= count,
      { timeoutMs, message: `${count} jobs run on ${this.worker.name}` },
    )
    return this.processed.slice(0, count)
  }

  close(): Promise<void> {
    return this.worker.close()
  }
}
