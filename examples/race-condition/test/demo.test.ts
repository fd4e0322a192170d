// Runs `pnpm demo`'s program as `pnpm demo` does (a process of its own, with
// its app and relay processes), against the test services, and checks the
// rows it computed: txbox right with each broker, each naive approach wrong
// in the way it must be, the printed table the computed one, and nothing of
// the run left behind.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { serviceUrls, uniqueName } from '@txbox/testing'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, expect, test } from 'vitest'
import { formatTable, isCorrect, label, type Row } from '../src/report.js'
import { CONCURRENCY, CRASH_AFTER_COMMIT_OF, redisOutage, rollsBack, SIGNUPS, scenarios } from '../src/settings.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const runId = uniqueName('race_demo')
let demo: ChildProcess | undefined

afterAll(async () => {
  // Only when the test failed before the demo ended: SIGTERM makes it stop its children and clean up.
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    const ended = new Promise((resolve) => demo!.once('exit', resolve))
    demo.kill('SIGTERM')
    await ended
  }
})

/** Signups whose transaction surely ran to its end: not in the batch the crash cut short. */
const signupNumbers = Array.from({ length: SIGNUPS }, (_, n) => n)
const crashedBatch = (n: number) => Math.floor(n / CONCURRENCY) === Math.floor(CRASH_AFTER_COMMIT_OF / CONCURRENCY)
const surelyRolledBack = signupNumbers.filter((n) => rollsBack(n) && !crashedBatch(n)).length
/** Committed signups whose after-commit push could not happen: the one the crash came after, and those of the Redis outage. */
const surelyLostByTheHook = 1 + signupNumbers.filter((n) => redisOutage(n) && !rollsBack(n)).length

test('pnpm demo: txbox delivers every committed signup once through Redis Streams and through BullMQ; the naive pushes send phantoms or lose jobs; the run cleans up', { timeout: 240_000 }, async () => {
  const { databaseUrl, redisUrl } = serviceUrls()
  let stdout = ''
  let stderr = ''
  let rows: Row[] | undefined
  demo = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: packageDir,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, DEMO_RUN_ID: runId },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  demo.stdout!.on('data', (chunk) => {
    stdout += chunk
  })
  demo.stderr!.on('data', (chunk) => {
    stderr += chunk
  })
  demo.on('message', (message: { rows: Row[] }) => {
    rows = message.rows
  })
  const code = await new Promise<number | null>((resolve) => demo!.once('close', resolve))

  expect(code, `the demo failed:\n${stdout}\n${stderr}`).toBe(0)
  expect(rows?.map((r) => r.scenario)).toEqual(scenarios)
  // What it printed is what it computed.
  expect(stdout).toContain(formatTable(rows!))

  for (const row of rows!) {
    const what = `${label(row.scenario)}: ${JSON.stringify(row)}`
    expect(row.committed, what).toBeGreaterThan(30)
    if (row.scenario.approach === 'txbox') {
      expect(isCorrect(row), what).toBe(true)
    } else if (row.scenario.approach === 'push-before-commit') {
      // Every rolled-back signup had pushed its job; the worker ran them all.
      expect(row.phantom, what).toBeGreaterThanOrEqual(surelyRolledBack)
      expect(row.lost, what).toBe(0)
      expect(row.early + row.delivered, what).toBe(row.committed)
    } else {
      expect(row.lost, what).toBeGreaterThanOrEqual(surelyLostByTheHook)
      expect(row.phantom + row.early, what).toBe(0)
      expect(row.delivered, what).toBe(row.committed - row.lost)
    }
  }

  // Its schema and every Redis key under its prefix (streams, BullMQ queues) are gone.
  const client = new pg.Client({ connectionString: databaseUrl })
  const redis = new Redis(redisUrl)
  try {
    await client.connect()
    const schemas = await client.query('select nspname from pg_namespace where nspname = $1', [`txbox_race_demo_${runId}`])
    expect(schemas.rows).toEqual([])
    expect(await redis.keys(`txbox-race-demo:${runId}:*`)).toEqual([])
  } finally {
    await client.end()
    await redis.quit()
  }
})

test('the demo tables shown in the docs are as the demo prints them, for their counts', () => {
  for (const doc of ['../../../docs/concepts.md', '../README.md']) {
    const text = readFileSync(fileURLToPath(new URL(doc, import.meta.url)), 'utf8')
    const table = text.match(/```text\n(broker .*?)\n```/s)?.[1]
    expect(table, `${doc} shows the demo's table`).toBeDefined()
    const rows = table!
      .split('\n')
      .slice(1)
      .map((line, i): Row => {
        const cells = line.match(/(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(?:ok|WRONG)$/)
        expect(cells, `${doc}: ${line}`).not.toBeNull()
        const [committed, delivered, early, phantom, lost] = cells!.slice(1).map(Number) as [number, number, number, number, number]
        // Counts a run can give: each committed user was mailed once, found too early, or lost.
        expect(delivered + early + lost, `${doc}: ${line}`).toBe(committed)
        return { scenario: scenarios[i]!, committed, delivered, early, phantom, lost, ranTwice: 0, duplicatesDropped: 0, repeatedAddsAbsorbed: 0 }
      })
    expect(rows.map((r) => r.scenario)).toEqual(scenarios)
    expect(table, doc).toBe(formatTable(rows))
  }
})
