import { bullmqPublisher, DEFAULT_RETENTION } from '@txbox/bullmq'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { BenchConfig } from '../../support/config.js'
import { createRedis, deleteRunKeys } from '../../support/redis.js'
import type { BareRow, Destination, PublisherVariant } from '../destination.js'

/**
 * BullMQ: one queue per round (the topic), under a prefix of this run's own;
 * each message a job (name = topic, data = payload, jobId = message id, the
 * publisher's default retention); no worker runs, so the jobs wait and are
 * counted with getWaitingCount().
 */
export async function bullmq(config: BenchConfig): Promise<Destination> {
  const prefix = `bench:${config.runId}:bull`
  const admin = createRedis(config)
  const sender = createRedis(config)
  const clients: Redis[] = [admin, sender]
  const senderQueues = new Map<string, Queue>()
  const adminQueues = new Map<string, Queue>()
  const publishers: { close?(): Promise<void> }[] = []
  const queueOn = (queues: Map<string, Queue>, connection: Redis, name: string): Queue => {
    let queue = queues.get(name)
    if (!queue) {
      queue = new Queue(name, { connection, prefix })
      queue.on('error', (error) => console.error(`[bench] BullMQ queue ${name}:`, error.message))
      queues.set(name, queue)
    }
    return queue
  }
  return {
    name: 'BullMQ',
    notes: 'BullMQ: a queue per round; the bare loop sends each batch with one Queue.addBulk (jobId = message id, data = payload, the publisher\'s default retention) on its own ioredis client; txbox: bullmqPublisher({ connection, prefix }), one ioredis client per relay. No worker runs: jobs are counted waiting.',
    topic: (label) => `drain-${label}`,
    async publisher(variant: PublisherVariant = {}) {
      const connection = createRedis(config)
      clients.push(connection)
      const publisher = bullmqPublisher({ connection, prefix, ...variant })
      publishers.push(publisher)
      return publisher
    },
    async send(rows: readonly BareRow[]) {
      const byTopic = new Map<string, BareRow[]>()
      for (const r of rows) {
        const list = byTopic.get(r.topic)
        if (list) list.push(r)
        else byTopic.set(r.topic, [r])
      }
      await Promise.all(
        [...byTopic].map(([topic, list]) =>
          queueOn(senderQueues, sender, topic).addBulk(list.map((r) => ({ name: topic, data: JSON.parse(r.payload), opts: { ...DEFAULT_RETENTION, jobId: r.message_id } }))),
        ),
      )
    },
    count: (topic) => queueOn(adminQueues, admin, topic).getWaitingCount(),
    async clear(topic) {
      await queueOn(adminQueues, admin, topic).obliterate({ force: true })
      for (const queues of [senderQueues, adminQueues]) {
        await queues.get(topic)?.close()
        queues.delete(topic)
      }
    },
    async close() {
      for (const publisher of publishers) await publisher.close?.().catch(() => {})
      for (const queue of [...senderQueues.values(), ...adminQueues.values()]) await queue.close().catch(() => {})
      await deleteRunKeys(admin, config)
      for (const client of clients) client.disconnect()
    },
  }
}
