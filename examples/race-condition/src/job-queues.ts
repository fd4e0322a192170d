// What the naive approaches call to get a job out: the broker's own client,
// straight from the request, with nothing that remembers the job if the call
// never happens or fails.
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { bullmqPrefix, bullmqQueueName, type RunNames, type Scenario, streamName } from './settings.js'

export interface JobQueue {
  /** Pushes the welcome email job for `userId`. */
  push(userId: number): Promise<unknown>
  close(): Promise<void>
}

/** The scenario's queue, on `redis` (a reachable client, or one whose Redis is down). */
export function openJobQueue(names: RunNames, scenario: Scenario, redis: Redis): JobQueue {
  return scenario.broker === 'redis-streams' ? redisStreamQueue(redis, streamName(names, scenario.approach)) : bullmqQueue(redis, names, bullmqQueueName(scenario.approach))
}

/** XADD: one stream entry per job. */
function redisStreamQueue(redis: Redis, stream: string): JobQueue {
  return {
    push: (userId) => redis.xadd(stream, '*', 'messageId', randomUUID(), 'topic', 'email.welcome', 'payload', JSON.stringify({ userId })),
    close: async () => {},
  }
}

/** `queue.add()`, as BullMQ's docs show it. The Queue is made on first use: the txbox scenario never pushes. */
function bullmqQueue(connection: Redis, names: RunNames, queueName: string): JobQueue {
  let queue: Queue | undefined
  return {
    push(userId) {
      if (!queue) {
        queue = new Queue(queueName, { connection, prefix: bullmqPrefix(names) })
        // A Redis that is down reports here as well as in the rejected add().
        queue.on('error', () => {})
      }
      return queue.add('email.welcome', { userId })
    },
    close: async () => {
      await queue?.close()
    },
  }
}
