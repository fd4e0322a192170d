import { hostname } from 'node:os'
import { processOnce } from '@txbox/core'
import { consumeRedisStream, type RedisConsumerClient, type RedisStreamConsumer } from '@txbox/redis'
import type { Kysely } from 'kysely'
import type { AppDatabase } from './database.js'
import { WELCOME_TOPIC, type WelcomeEmail } from './http-server.js'

/** Sends one email. In the example it only records it; plug your mail provider in here. */
export type SendEmail = (to: string, subject: string) => Promise<void>

/**
 * The worker: reads welcome-email messages from Redis and sends each once.
 * processOnce records the message id in txbox's inbox in the same transaction
 * as the welcome_emails row, so a redelivered message is skipped.
 */
export function startWelcomeWorker(options: {
  db: Kysely<AppDatabase>
  redis: RedisConsumerClient
  sendEmail: SendEmail
  stream?: string
  txboxSchema?: string
}): Promise<RedisStreamConsumer> {
  const { db, sendEmail } = options
  const txbox = options.txboxSchema === undefined ? {} : { schema: options.txboxSchema }
  return consumeRedisStream<WelcomeEmail>({
    redis: options.redis,
    stream: options.stream ?? WELCOME_TOPIC,
    group: 'welcome-mailer',
    consumer: hostname(),
    handler: async (message) => {
      await processOnce(
        db,
        message.messageId,
        async (trx) => {
          await trx.insertInto('welcome_emails').values({ user_id: message.payload.userId }).execute()
          // Last, so that a failed send rolls the record back and the message is retried.
          await sendEmail(message.payload.email, 'Welcome!')
        },
        { consumer: 'welcome-mailer', ...txbox },
      )
    },
  })
}
