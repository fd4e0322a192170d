// pnpm demo: the three ways "send an email for this signup" goes wrong, with
// Redis Streams and with BullMQ, and txbox getting it right, against real
// PostgreSQL and Redis.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { killScripts, runApp } from './child-process.js'
import { committedUsers, connect, createSchema, dropSchema, outboxBacklog } from './database.js'
import { superviseRelay } from './relay-supervisor.js'
import { formatTable, isCorrect, label, type Row, tally } from './report.js'
import {
  CONCURRENCY,
  CRASH_AFTER_COMMIT_OF,
  databaseUrl,
  KILL_RELAY_AFTER_PUBLISHED,
  type RunNames,
  redisUrl,
  SIGNUPS,
  scenarioId,
  scenarios,
} from './settings.js'
import { startBullmqWorker } from './bullmq-worker.js'
import { startRedisStreamsWorker } from './redis-streams-worker.js'
import type { ScenarioWorker } from './worker.js'

const startedAt = Date.now()
// DEMO_RUN_ID: lets a test name the run, to check that it cleaned up after itself.
const runId = process.env.DEMO_RUN_ID ?? randomBytes(4).toString('hex')
if (!/^[a-z0-9_]{1,32}$/.test(runId)) throw new Error('DEMO_RUN_ID must be 1 to 32 of a-z, 0-9 and _ (it names a PostgreSQL schema).')
const names: RunNames = { schema: `txbox_race_demo_${runId}`, redisPrefix: `txbox-race-demo:${runId}` }
const { db } = connect(names)
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: (attempt) => (attempt > 3 ? null : 200) })
redis.on('error', () => {})
/** Set by the first cleanUp() call (the end of the run, or a signal). */
let cleaningUp: Promise<void> | undefined

console.log(`${SIGNUPS} signups per scenario, ${CONCURRENCY} at a time; every 4th one rolls back. One app process
runs the ${scenarios.length} scenarios side by side. It is killed (SIGKILL) right after signup ${CRASH_AFTER_COMMIT_OF} has
committed in each, and restarted; Redis is unreachable from the app for 8 signups. For txbox,
the relay process is also killed after each of its relays has published ${KILL_RELAY_AFTER_PUBLISHED} messages, and restarted.
`)

// Ctrl-C (or a SIGTERM): stop the children, remove what this run created, then go.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killScripts()
    cleanUp().finally(() => process.exit(130))
  })
}

let exitCode = 1
try {
  await checkServices()
  await createSchema(db, names)
  const rows = await runScenarios()
  const txboxRows = rows.filter((r) => r.scenario.approach === 'txbox')

  console.log(formatTable(rows))
  console.log(`
early:   the worker ran before the COMMIT and did not find the user
phantom: the signup rolled back, but the worker mailed its user anyway
lost:    the signup committed, but the job never reached the worker`)
  for (const row of txboxRows) {
    if (row.repeatedAddsAbsorbed > 0) {
      console.log(`${label(row.scenario)}: ${row.repeatedAddsAbsorbed} publish(es) repeated after the relay crash found their job already there (jobId = message id): no second job`)
    }
    if (row.duplicatesDropped > 0) {
      console.log(`${label(row.scenario)}: ${row.duplicatesDropped} redelivered message(s) (at least once) dropped by processOnce`)
    }
  }
  const allCorrect = txboxRows.every(isCorrect)
  const verdict = allCorrect ? 'txbox: every committed user got exactly one email, with either broker.' : 'txbox: WRONG, see the table.'
  console.log(`\n${verdict} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`)
  // The rows, for a parent process that started the demo (its test).
  process.send?.({ rows })
  exitCode = allCorrect ? 0 : 1
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
} finally {
  await cleanUp()
}
process.exit(exitCode)

/** Runs every scenario at once through one app process and one relay process, and tallies what each worker did. */
async function runScenarios(): Promise<Row[]> {
  const workers: ScenarioWorker[] = []
  let relay: ReturnType<typeof superviseRelay> | undefined
  try {
    for (const scenario of scenarios) {
      const start = scenario.broker === 'redis-streams' ? startRedisStreamsWorker : startBullmqWorker
      workers.push(await start({ db, redis, names, scenario }))
    }
    relay = superviseRelay(names)
    const first = await runApp(names, 0, SIGNUPS)
    if (first.signal === 'SIGKILL') {
      // The requests in flight with the crash died with it; the next ones reach the restarted app.
      const resumeAt = (Math.floor(CRASH_AFTER_COMMIT_OF / CONCURRENCY) + 1) * CONCURRENCY
      await runApp(names, resumeAt, SIGNUPS)
    }
    await waitUntil(async () => (await outboxBacklog(db, names)) === 0, 'the relays to drain the outboxes')
    await waitUntil(async () => (await Promise.all(workers.map((w) => w.caughtUp()))).every(Boolean), 'the workers to run every job')
  } finally {
    await relay?.stop()
    for (const worker of workers) await worker.stop()
  }
  const rows: Row[] = []
  for (const [i, scenario] of scenarios.entries()) {
    const worker = workers[i]!
    rows.push(tally(scenario, await committedUsers(db, scenarioId(scenario)), worker.log, await worker.repeatedAddsAbsorbed()))
  }
  return rows
}

async function waitUntil(done: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function checkServices(): Promise<void> {
  await sql`select 1`.execute(db).catch((error) => {
    throw new Error(`Cannot reach PostgreSQL at ${redact(databaseUrl)} (${error.message}). Start it, or set DATABASE_URL.`)
  })
  await redis.ping().catch((error) => {
    throw new Error(`Cannot reach Redis at ${redact(redisUrl)} (${error.message}). Start it, or set REDIS_URL.`)
  })
}

/** Drops the run's schema and every Redis key under its prefix (streams, BullMQ's queues); once, whoever asks first. */
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    await dropSchema(db, names).catch(() => {})
    await deleteKeys(`${names.redisPrefix}:*`).catch(() => {})
    redis.disconnect()
    await db.destroy()
  })()
  return cleaningUp
}

async function deleteKeys(pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@')
}
