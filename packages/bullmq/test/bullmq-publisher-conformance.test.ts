import { bullmqPublisher } from '@txbox/bullmq'
import { describePublisherConformance, type PublisherFixture, type ReceivedMessage } from '@txbox/testing'
import { RecordingWorker, removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

describePublisherConformance(
  'bullmq',
  async (): Promise<PublisherFixture> => {
    const redis = testRedis()
    const prefix = testPrefix('conf')
    const publisher = bullmqPublisher({ connection: redis, prefix })
    const workers = new Map<string, RecordingWorker>()
    let closed: Promise<void> | undefined
    return {
      publisher,
      // BullMQ queue names cannot hold ':'; the prefix keeps them apart from other files'.
      topic: (name) => name,
      async received(topic, count): Promise<ReceivedMessage[]> {
        let worker = workers.get(topic)
        if (!worker) workers.set(topic, (worker = new RecordingWorker(topic, prefix)))
        const jobs = await worker.ran(count, 5000)
        return jobs.map((job) => {
          const carrier = job.opts.telemetry?.metadata as unknown as Record<string, string> | undefined
          return { messageId: job.id as string, topic: job.name, key: null, payload: job.data, headers: carrier ?? {} }
        })
      },
      async breakTopic(topic) {
        // Every add INCRs the queue's id counter first: a counter that is not a number fails the add script.
        await redis.set(`${prefix}:${topic}:id`, 'not a number')
      },
      close() {
        closed ??= (async () => {
          await Promise.all([...workers.values()].map((w) => w.close()))
          await publisher.close?.()
          await removeQueues(redis, prefix)
          await redis.quit()
        })()
        return closed
      },
    }
  },
  { stopsKeyOnFailure: false, carriesKeyAndHeaders: false },
)
