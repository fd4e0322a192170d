import { randomUUID } from 'node:crypto'
import { enqueueOnCommit, onCommit, withTransaction } from '@txbox/core'
import type { Kysely, Transaction } from 'kysely'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DemoDatabase } from './database.js'
import { type Approach, CRASH_AFTER_COMMIT_OF, redisOutage, rollsBack, WORK_BEFORE_COMMIT_MS } from './settings.js'

/** The subset of ioredis the naive approaches push jobs with. */
export interface JobQueue {
  xadd(stream: string, id: '*', ...fields: string[]): Promise<string | null>
}

export interface SignupContext {
  readonly db: Kysely<DemoDatabase>
  readonly schema: string
  readonly stream: string
  readonly redis: JobQueue
  /** A client whose Redis is unreachable, for the outage window. */
  readonly unreachableRedis: JobQueue
}

class SignupRejected extends Error {}

/** One signup request: insert the user, get the welcome email out, maybe roll back. */
export async function signup(ctx: SignupContext, approach: Approach, n: number): Promise<void> {
  await withTransaction(ctx.db, async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({ email: `user${n}@example.com`, approach })
      .returning('id')
      .executeTakeFirstOrThrow()

    if (approach === 'push-before-commit') {
      await pushJob(ctx.redis, ctx.stream, user.id)
    } else if (approach === 'after-commit-hook') {
      // Like Django's transaction.on_commit or Rails' after_commit.
      onCommit(trx, async () => {
        crashHereIf(n)
        const redis = redisOutage(n) ? ctx.unreachableRedis : ctx.redis
        await pushJob(redis, ctx.stream, user.id).catch(() => {
          // Nowhere to put it: the transaction has committed, the job is gone.
        })
      })
    } else {
      await enqueueOnCommit(trx, { topic: 'email.welcome', key: `user:${user.id}`, payload: { userId: user.id } }, { schema: ctx.schema })
      onCommit(trx, () => crashHereIf(n))
    }

    await restOfTheRequest(trx)
    if (rollsBack(n)) throw new SignupRejected(`signup ${n} rejected`)
  }).catch((error) => {
    if (!(error instanceof SignupRejected)) throw error
  })
}

/** The same naive push both broken approaches use: one stream entry per job. */
function pushJob(redis: JobQueue, stream: string, userId: number): Promise<string | null> {
  return redis.xadd(stream, '*', 'messageId', randomUUID(), 'topic', 'email.welcome', 'payload', JSON.stringify({ userId }))
}

/** The process dies between COMMIT and whatever comes next (OOM kill, deploy, node crash). */
function crashHereIf(n: number): void {
  if (n === CRASH_AFTER_COMMIT_OF) process.kill(process.pid, 'SIGKILL')
}

async function restOfTheRequest(_trx: Transaction<DemoDatabase>): Promise<void> {
  await sleep(WORK_BEFORE_COMMIT_MS)
}
