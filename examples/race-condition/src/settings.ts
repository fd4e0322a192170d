// What every process of the demo shares: where the services are, the
// workload, and the names this run owns (its schema, its Redis key prefix).

/** The services, overridable like any twelve-factor app. */
export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The three ways of getting "send the welcome email" out of a signup. */
export type Approach = 'push-before-commit' | 'after-commit-hook' | 'txbox'
export const approaches: readonly Approach[] = ['push-before-commit', 'after-commit-hook', 'txbox']

/** Signups per approach, and how many run at once (like concurrent requests). */
export const SIGNUPS = 60
export const CONCURRENCY = 4

/** Every fourth signup fails validation late and rolls back. */
export const rollsBack = (signup: number): boolean => signup % 4 === 3

/** What the request does after the push and before COMMIT (another write, an HTTP call). */
export const WORK_BEFORE_COMMIT_MS = 15

/** The app process dies (SIGKILL) right after this signup's COMMIT. */
export const CRASH_AFTER_COMMIT_OF = 20

/** While handling these signups the app cannot reach Redis. */
export const redisOutage = (signup: number): boolean => signup >= 36 && signup < 44

/** The relay process is killed (SIGKILL) once it has published this many messages. */
export const KILL_RELAY_AFTER_PUBLISHED = 12

/** The names one run owns; passed to child processes through the environment. */
export interface RunNames {
  /** PostgreSQL schema holding the demo's users table and txbox's tables. */
  readonly schema: string
  /** Prefix of every Redis key the run creates. */
  readonly redisPrefix: string
}

export function streamName(names: RunNames, approach: Approach): string {
  return `${names.redisPrefix}:${approach}:email.welcome`
}

export function runNamesFromEnv(): RunNames {
  const schema = process.env.DEMO_SCHEMA
  const redisPrefix = process.env.DEMO_REDIS_PREFIX
  if (!schema || !redisPrefix) throw new Error('DEMO_SCHEMA and DEMO_REDIS_PREFIX must be set (the demo sets them for its child processes).')
  return { schema, redisPrefix }
}
