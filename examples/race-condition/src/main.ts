// pnpm demo: the three ways "send an email for this signup" goes wrong, and
// txbox getting it right, against real PostgreSQL and Redis.
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { Redis } from 'ioredis'
import { runApp } from './child-process.js'
import { committedUsers, connect, createSchema, dropSchema } from './database.js'
import { superviseRelay } from './relay-supervisor.js'
import { formatTable, isCorrect, type Row, tally } from './report.js'
import {
  type Approach,
  approaches,
  CONCURRENCY,
  CRASH_AFTER_COMMIT_OF,
  databaseUrl,
  KILL_RELAY_AFTER_PUBLISHED,
  type RunNames,
  redisUrl,
  SIGNUPS,
  streamName,
} from './settings.js'
import { startWorker } from './worker.js'

const startedAt = Date.now()
const runId = randomBytes(4).toString('hex')
const names: RunNames = { schema: `txbox_race_demo_${runId}`, redisPrefix: `txbox-race-demo:${runId}` }
const { db } = connect(names)
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: (attempt) => (attempt > 3 ? null : 200) })
redis.on('error', () => {})

console.log(`${SIGNUPS} signups per approach, ${CONCURRENCY} at a time; every 4th one rolls back.
The app process is killed (SIGKILL) right after the COMMIT of signup ${CRASH_AFTER_COMMIT_OF}, and restarted;
Redis is unreachable from the app for 8 signups. For txbox, the relay process is also
killed after it has published ${KILL_RELAY_AFTER_PUBLISHED} messages, and restarted.
`)

// Ctrl-C: the children get the signal too; remove what this run created, then go.
process.once('SIGINT', () => {
  cleanUp().finally(() => process.exit(130))
})

let exitCode = 1
try {
  await checkServices()
  await createSchema(db, names)
  const rows: Row[] = []
  for (const approach of approaches) rows.push(await run(approach))
  const txbox = rows.find((r) => r.approach === 'txbox')!

  console.log(formatTable(rows))
  console.log(`
early:   the worker ran before the COMMIT and did not find the user
phantom: the signup rolled back, but the worker mailed its user anyway
lost:    the signup committed, but the job never reached the worker`)
  if (txbox.duplicatesDropped > 0) {
    console.log(`txbox:   ${txbox.duplicatesDropped} redelivered message(s) (at least once) dropped by processOnce`)
  }
  console.log(`\n${isCorrect(txbox) ? 'txbox: every committed user got exactly one email.' : 'txbox: WRONG, see the table.'} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`)
  exitCode = isCorrect(txbox) ? 0 : 1
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
} finally {
  await cleanUp()
}
process.exit(exitCode)

async function run(approach: Approach): Promise<Row> {
  const stream = streamName(names, approach)
  const worker = await startWorker({ db, redis, stream, schema: names.schema, dropDuplicates: approach === 'txbox' })
  const relay = approach === 'txbox' ? superviseRelay(names) : undefined
  try {
    const first = await runApp(names, approach, 0, SIGNUPS)
    if (first.signal === 'SIGKILL') {
      // The requests in flight with the crash died with it; the next ones reach the restarted app.
      const resumeAt = (Math.floor(CRASH_AFTER_COMMIT_OF / CONCURRENCY) + 1) * CONCURRENCY
      await runApp(names, approach, resumeAt, SIGNUPS)
    }
    await waitUntil(async () => {
      if (approach === 'txbox' && (await outboxBacklog()) > 0) return false
      return worker.log.handled === (await redis.xlen(stream))
    }, `the worker to finish the ${approach} jobs`)
  } finally {
    await relay?.stop()
    await worker.stop()
  }
  return tally(approach, await committedUsers(db, approach), worker.log)
}

async function outboxBacklog(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${names.schema}.outbox`)}`.execute(db)
  return rows[0]!.n
}

async function waitUntil(done: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
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

async function cleanUp(): Promise<void> {
  await dropSchema(db, names).catch(() => {})
  const streams = approaches.map((a) => streamName(names, a))
  await redis.del(...streams, ...streams.map((s) => `${s}:dead`)).catch(() => {})
  redis.disconnect()
  await db.destroy()
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@')
}
