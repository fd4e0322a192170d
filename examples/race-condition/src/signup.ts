import { setTimeout as sleep } from 'node:timers/promises'
import { enqueueOnCommit, onCommit, withTransaction } from '@txbox/core'
import type { Kysely, Transaction } from 'kysely'
import type { CrashPoint } from './crash-point.js'
import type { DemoDatabase } from './database.js'
import type { JobQueue } from './job-queues.js'
import { outboxTables, redisOutage, rollsBack, type Scenario, scenarioId, WORK_BEFORE_COMMIT_MS } from './settings.js'

export interface SignupContext {
  readonly db: Kysely<DemoDatabase>
  readonly schema: string
  readonly scenario: Scenario
  /** The scenario's queue, for the naive approaches. */
  readonly jobs: JobQueue
  /** The same queue through a client whose Redis is unreachable, for the outage window. */
  readonly unreachableJobs: JobQueue
  readonly crash: CrashPoint
}

class SignupRejected extends Error {}

/** One signup request: insert the user, get the welcome email out, maybe roll back. */
export async function signup(ctx: SignupContext, n: number): Promise<void> {
  const { approach, broker } = ctx.scenario
  await withTransaction(ctx.db, async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({ email: `user${n}@example.com`, scenario: scenarioId(ctx.scenario) })
      .returning('id')
      .executeTakeFirstOrThrow()

    if (approach === 'push-before-commit') {
      await ctx.jobs.push(user.id)
    } else if (approach === 'after-commit-hook') {
      // Like Django's transaction.on_commit or Rails' after_commit.
      onCommit(trx, async () => {
        await ctx.crash.afterCommitOf(n)
        const jobs = redisOutage(n) ? ctx.unreachableJobs : ctx.jobs
        await jobs.push(user.id).catch(() => {
          // Nowhere to put it: the transaction has committed, the job is gone.
        })
      })
    } else {
      const outbox = { schema: ctx.schema, ...outboxTables(broker) }
      await enqueueOnCommit(trx, { topic: 'email.welcome', key: `user:${user.id}`, payload: { userId: user.id } }, outbox)
      onCommit(trx, () => ctx.crash.afterCommitOf(n))
    }

    await restOfTheRequest(trx)
    if (rollsBack(n)) throw new SignupRejected(`signup ${n} rejected`)
  }).catch((error) => {
    if (!(error instanceof SignupRejected)) throw error
  })
}

async function restOfTheRequest(_trx: Transaction<DemoDatabase>): Promise<void> {
  await sleep(WORK_BEFORE_COMMIT_MS)
}
