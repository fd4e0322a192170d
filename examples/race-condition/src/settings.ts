// What every process of the demo shares: where the services are, the
// workload, and the names this run owns (its schema, its Redis key prefix).

/** The services, overridable like any twelve-factor app. */
export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The two job queues the demo pushes to: a Redis stream read by a consumer group, and BullMQ. */
export type Broker = 'redis-streams' | 'bullmq'
export const brokers: readonly Broker[] = ['redis-streams', 'bullmq']

/** The three ways of getting "send the welcome email" out of a signup. */
export type Approach = 'push-before-commit' | 'after-commit-hook' | 'txbox'
export const approaches: readonly Approach[] = ['push-before-commit', 'after-commit-hook', 'txbox']

/** One row of the table: an approach, pushing to one broker. */
export interface Scenario {
  readonly broker: Broker
  readonly approach: Approach
}

export const scenarios: readonly Scenario[] = brokers.flatMap((broker) => approaches.map((approach) => ({ broker, approach })))

/** The scenario's name, also stored with each of its users (`users.scenario`). */
export function scenarioId(s: Scenario): string {
  return `${s.broker}/${s.approach}`
}

/** Signups per scenario, and how many run at once (like concurrent requests). */
export const SIGNUPS = 60
export const CONCURRENCY = 4

/** Every fourth signup fails validation late and rolls back. */
export const rollsBack = (signup: number): boolean => signup % 4 === 3

/** What the request does after the push and before COMMIT (another write, an HTTP call). */
export const WORK_BEFORE_COMMIT_MS = 15

/**
 * The app process dies (SIGKILL) once this signup has committed in every
 * scenario that does something after the COMMIT, before any of them did it.
 */
export const CRASH_AFTER_COMMIT_OF = 20

/** While handling these signups the app cannot reach Redis. */
export const redisOutage = (signup: number): boolean => signup >= 36 && signup < 44

/** The relay process is killed (SIGKILL) once each of its relays has published this many messages. */
export const KILL_RELAY_AFTER_PUBLISHED = 12

/** The names one run owns; passed to child processes through the environment. */
export interface RunNames {
  /** PostgreSQL schema holding the demo's users table and txbox's tables. */
  readonly schema: string
  /** Prefix of every Redis key the run creates, BullMQ's included. */
  readonly redisPrefix: string
}

/** The Redis stream a Redis Streams scenario pushes to. */
export function streamName(names: RunNames, approach: Approach): string {
  return `${names.redisPrefix}:redis-streams:${approach}:email.welcome`
}

/** BullMQ's key prefix for the run: its queues' keys are `<prefix>:<queue>:...`. */
export function bullmqPrefix(names: RunNames): string {
  return `${names.redisPrefix}:bull`
}

/** The BullMQ queue a BullMQ scenario adds its jobs to (BullMQ refuses `:` in queue names). */
export function bullmqQueueName(approach: Approach): string {
  return `${approach}.email.welcome`
}

/** Each broker's txbox scenario has its own outbox (two outboxes in one schema), drained by its own relay. */
export function outboxTables(broker: Broker): { outboxTable: string; deadTable: string } {
  const outboxTable = `outbox_${broker.replace('-', '_')}`
  return { outboxTable, deadTable: `${outboxTable}_dead` }
}

export function runNamesFromEnv(): RunNames {
  const schema = process.env.DEMO_SCHEMA
  const redisPrefix = process.env.DEMO_REDIS_PREFIX
  if (!schema || !redisPrefix) throw new Error('DEMO_SCHEMA and DEMO_REDIS_PREFIX must be set (the demo sets them for its child processes).')
  return { schema, redisPrefix }
}
