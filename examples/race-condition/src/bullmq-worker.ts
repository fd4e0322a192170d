// The BullMQ worker: a plain `Worker` on the scenario's queue. txbox's wraps
// its processor in withProcessOnce; the naive ones run it as it is.
import { withProcessOnce } from '@txbox/bullmq'
import { type Job, Queue, Worker } from 'bullmq'
import { bullmqPrefix, bullmqQueueName, redisUrl } from './settings.js'
import { type ScenarioWorker, type WorkerLog, type WorkerOptions, welcomeEmailSender } from './worker.js'

type WelcomeJob = Job<{ userId: number }>

export async function startBullmqWorker({ db, redis, names, scenario }: WorkerOptions): Promise<ScenarioWorker> {
  const queueName = bullmqQueueName(scenario.approach)
  const prefix = bullmqPrefix(names)
  const log: WorkerLog = { jobs: [], duplicatesDropped: 0 }
  const sendWelcomeEmail = welcomeEmailSender(log)

  const processor =
    scenario.approach === 'txbox'
      ? withProcessOnce(
          db,
          async (job: WelcomeJob, trx) => {
            await sendWelcomeEmail(trx, job.data.userId)
            return 'sent'
          },
          { schema: names.schema, consumer: 'mailer' },
        )
      : async (job: WelcomeJob) => {
          await sendWelcomeEmail(db, job.data.userId)
          return 'sent'
        }
  const worker = new Worker(
    queueName,
    async (job: WelcomeJob, token, signal) => {
      // withProcessOnce resolves undefined, without running the handler, for a message already processed.
      if ((await processor(job, token, signal)) === undefined) log.duplicatesDropped++
    },
    { connection: { url: redisUrl }, prefix, concurrency: 1 },
  )
  worker.on('error', (error) => console.error(`BullMQ worker of ${queueName}: ${error.message}`))
  await worker.waitUntilReady()
  // Only to look at the queue: how many jobs are still to run.
  const queue = new Queue(queueName, { connection: redis, prefix })

  return {
    log,
    async caughtUp() {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children')
      return Object.values(counts).every((n) => n === 0)
    },
    async repeatedAddsAbsorbed() {
      const events = await redis.xrange(`${prefix}:${queueName}:events`, '-', '+')
      return events.filter(([, fields]) => fields[0] === 'event' && fields[1] === 'duplicated').length
    },
    async stop() {
      await worker.close()
      await queue.close()
    },
  }
}
