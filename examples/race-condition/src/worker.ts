// What the welcome-email workers share (one per broker: redis-streams-worker.ts,
// bullmq-worker.ts): each looks the user up, as a real one would before
// rendering a mail, and records what it found. txbox's drop redeliveries with processOnce.
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { DemoDatabase } from './database.js'
import type { RunNames, Scenario } from './settings.js'

export interface WorkerLog {
  /** One entry per job the worker ran: the user it was for, and whether it found them. */
  readonly jobs: { userId: number; userFound: boolean }[]
  /** Deliveries dropped by processOnce because the message had been processed. */
  duplicatesDropped: number
}

export interface ScenarioWorker {
  readonly log: WorkerLog
  /** True once the worker has run every job pushed so far. */
  caughtUp(): Promise<boolean>
  /**
   * Adds BullMQ answered with the job already there (same jobId), so that no
   * second job was made: txbox's publishes repeated after the relay crash.
   */
  repeatedAddsAbsorbed(): Promise<number>
  stop(): Promise<void>
}

export interface WorkerOptions {
  readonly db: Kysely<DemoDatabase>
  /** The demo's client; workers that block on Redis open connections of their own. */
  readonly redis: Redis
  readonly names: RunNames
  readonly scenario: Scenario
}

/** What every worker does with a job: find the user, "send" the email. */
export function welcomeEmailSender(log: WorkerLog): (reader: Kysely<DemoDatabase>, userId: number) => Promise<void> {
  return async (reader, userId) => {
    const user = await reader.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst()
    log.jobs.push({ userId, userFound: user !== undefined })
  }
}
