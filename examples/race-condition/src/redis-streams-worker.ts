// The Redis Streams worker: reads the scenario's stream through a consumer group.
import { processOnce } from '@txbox/core'
import { consumeRedisStream } from '@txbox/redis'
import { streamName } from './settings.js'
import { type ScenarioWorker, type WorkerLog, type WorkerOptions, welcomeEmailSender } from './worker.js'

export async function startRedisStreamsWorker({ db, redis, names, scenario }: WorkerOptions): Promise<ScenarioWorker> {
  const stream = streamName(names, scenario.approach)
  const log: WorkerLog = { jobs: [], duplicatesDropped: 0 }
  const sendWelcomeEmail = welcomeEmailSender(log)
  /** Stream entries handled, duplicates included. */
  let handled = 0

  const consumer = await consumeRedisStream<{ userId: number }>({
    redis,
    stream,
    group: 'mailer',
    consumer: 'mailer-1',
    blockMs: 200,
    handler: async (message) => {
      if (scenario.approach === 'txbox') {
        const outcome = await processOnce(db, message.messageId, (trx) => sendWelcomeEmail(trx, message.payload.userId), { schema: names.schema })
        if (outcome.status === 'duplicate') log.duplicatesDropped++
      } else {
        await sendWelcomeEmail(db, message.payload.userId)
      }
      handled++
    },
  })
  return {
    log,
    caughtUp: async () => handled === (await redis.xlen(stream)),
    repeatedAddsAbsorbed: async () => 0,
    stop: () => consumer.stop(),
  }
}
