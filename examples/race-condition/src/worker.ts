// The worker that sends welcome emails: reads the stream through a consumer
// group, and looks the user up, as a real one would before rendering a mail.
import { processOnce } from '@txbox/core'
import { consumeRedisStream, type RedisStreamConsumer } from '@txbox/redis'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { DemoDatabase } from './database.js'

export interface WorkerLog {
  /** One entry per job the worker ran: the user it was for, and whether it found them. */
  readonly jobs: { userId: number; userFound: boolean }[]
  /** Deliveries dropped by processOnce because the message had been processed. */
  duplicatesDropped: number
  /** Stream entries handled, duplicates included. */
  handled: number
}

export async function startWorker(options: {
  db: Kysely<DemoDatabase>
  redis: Redis
  stream: string
  schema: string
  /** Drop redeliveries with the inbox (txbox's processOnce). */
  dropDuplicates: boolean
}): Promise<{ log: WorkerLog; stop: () => Promise<void> }> {
  const { db, schema } = options
  const log: WorkerLog = { jobs: [], duplicatesDropped: 0, handled: 0 }
  const sendWelcomeEmail = async (reader: Kysely<DemoDatabase>, userId: number) => {
    const user = await reader.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst()
    log.jobs.push({ userId, userFound: user !== undefined })
  }

  const consumer: RedisStreamConsumer = await consumeRedisStream<{ userId: number }>({
    redis: options.redis,
    stream: options.stream,
    group: 'mailer',
    consumer: 'mailer-1',
    blockMs: 200,
    handler: async (message) => {
      if (options.dropDuplicates) {
        const outcome = await processOnce(db, message.messageId, (trx) => sendWelcomeEmail(trx, message.payload.userId), { schema })
        if (outcome.status === 'duplicate') log.duplicatesDropped++
      } else {
        await sendWelcomeEmail(db, message.payload.userId)
      }
      log.handled++
    },
  })
  return { log, stop: () => consumer.stop() }
}
