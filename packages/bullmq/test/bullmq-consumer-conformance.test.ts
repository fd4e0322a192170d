// The consumer contract every adapter meets (packages/testing/src/consumer-conformance.ts), as far as it
// applies to a BullMQ Worker running a processor wrapped by withProcessOnce: BullMQ itself retries (job
// `attempts`), keeps failed jobs (the dead letters) and recovers stalled jobs; txbox adds the inbox.
import { bullmqPublisher, withProcessOnce } from '@txbox/bullmq'
import { type OutboxMessage, silentLogger } from '@txbox/core'
import { type ConformanceConsumerOptions, type ConsumerFixture, describeConsumerConformance } from '@txbox/testing'
import { type Job, Queue, Worker } from 'bullmq'
import { removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

/** The suite's maxDeliveries: BullMQ takes it per job, when the job is added. */
const ATTEMPTS = 3

describeConsumerConformance('bullmq', async (): Promise<ConsumerFixture> => {
  const redis = testRedis()
  const prefix = testPrefix('conformance')
  const queueName = 'events'
  const publisher = bullmqPublisher({ connection: redis, prefix, queue: queueName, logger: silentLogger, jobOptions: () => ({ attempts: ATTEMPTS }) })
  const queue = new Queue(queueName, { connection: redis, prefix })
  return {
    async publish(messageIds) {
      const messages: OutboxMessage[] = messageIds.map((messageId, n) => ({
        id: String(n),
        messageId,
        topic: queueName,
        key: null,
        payload: JSON.stringify({ n }),
        headers: {},
        attempts: 0,
        createdAt: new Date(),
      }))
      const results = await publisher.publish(messages, { signal: AbortSignal.timeout(10_000) })
      if (!results.every((r) => r.ok)) throw new Error(`publishing failed: ${JSON.stringify(results)}`)
    },
    async start(options: ConformanceConsumerOptions) {
      if (options.maxDeliveries !== ATTEMPTS) throw new Error(`the BullMQ fixture adds jobs with attempts ${ATTEMPTS}`)
      const once = options.processOnce
      const toMessage = (job: Job) => ({ messageId: String(job.id), payload: job.data })
      const processor = once
        ? withProcessOnce(
            once.db,
            async (job: Job, trx, { signal }) => {
              const m = toMessage(job)
              await once.effect(trx, m)
              await options.handler(m, { signal })
            },
            { schema: once.schema },
          )
        : async (job: Job, _token?: string, signal?: AbortSignal) => options.handler(toMessage(job), { signal })
      const client = testRedis({ maxRetriesPerRequest: null })
      const worker = new Worker(queueName, processor, { connection: client, prefix, concurrency: 1 })
      worker.on('error', () => {})
      const close = async (force: boolean) => {
        await worker.close(force)
        await client.quit().catch(() => client.disconnect())
      }
      return { stop: () => close(false), crash: () => close(true) }
    },
    async unacknowledged() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused')
      return Object.values(counts).reduce((a, b) => a + b, 0)
    },
    async deadLetters() {
      return (await queue.getFailed()).map((job) => String(job.id))
    },
    async close() {
      await queue.close()
      await publisher.close?.()
      await removeQueues(redis, prefix)
      await redis.quit()
    },
  }
}, { txboxConsumer: false, redeliversAfterCrash: false })
