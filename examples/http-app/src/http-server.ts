import { enqueueOnCommit, withTransaction } from '@txbox/core'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { AppDatabase } from './database.js'

export const WELCOME_TOPIC = 'email.welcome'

/** The payload of a welcome-email message. */
export interface WelcomeEmail {
  userId: number
  email: string
}

/**
 * The HTTP API. POST /signup creates the user and records the welcome email
 * in the same transaction: both commit, or neither exists.
 */
export function buildHttpServer(options: { db: Kysely<AppDatabase>; txboxSchema?: string }): FastifyInstance {
  const { db } = options
  const txbox = options.txboxSchema === undefined ? {} : { schema: options.txboxSchema }
  const app = Fastify()

  app.post<{ Body: { email: string } }>(
    '/signup',
    { schema: { body: { type: 'object', required: ['email'], properties: { email: { type: 'string', minLength: 3, pattern: '@' } } } } },
    async (request, reply) => {
      const { email } = request.body
      const user = await withTransaction(db, async (trx) => {
        const taken = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
        if (taken) return undefined
        const user = await trx.insertInto('users').values({ email }).returning(['id', 'email']).executeTakeFirstOrThrow()
        const payload: WelcomeEmail = { userId: user.id, email: user.email }
        await enqueueOnCommit(trx, { topic: WELCOME_TOPIC, key: `user:${user.id}`, payload }, txbox)
        return user
      })
      if (!user) return reply.code(409).send({ error: 'email already registered' })
      return reply.code(201).send(user)
    },
  )

  return app
}
