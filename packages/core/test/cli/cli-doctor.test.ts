import { migrate } from '@txbox/core'
import { type OwnPgBouncer, startPgBouncer, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureCliBuilt, runCli } from './cli-process.js'

// `txbox doctor` against the real PostgreSQL, and through a PgBouncer of the
// file's own, finding each condition that makes an outbox fail slowly.
const t = useTestDatabase('doctor')
let bouncer: OwnPgBouncer

beforeAll(async () => {
  await ensureCliBuilt()
  await migrate(t.db, { schema: t.schema })
  bouncer = await startPgBouncer({ poolMode: 'transaction' })
}, 180_000)

afterAll(async () => {
  await bouncer?.close()
})

interface Finding {
  check: string
  status: string
  summary: string
  advice?: string
  details?: any
}

async function doctor(args: string[] = [], url = t.url): Promise<{ code: number | null; findings: Finding[]; stderr: string }> {
  const result = await runCli(['doctor', '--json', '--schema', t.schema, ...args], { env: { DATABASE_URL: url } })
  return { code: result.code, findings: JSON.parse(result.stdout).findings, stderr: result.stderr }
}

const of = (findings: Finding[], check: string) => findings.filter((f) => f.check === check)

test('an up-to-date schema, a working LISTEN and no timeouts: those checks are ok, and the human output says what to do for the rest', async () => {
  const { findings } = await doctor()
  expect(of(findings, 'schema')).toEqual([expect.objectContaining({ status: 'ok', summary: expect.stringMatching(/up to date/) })])
  expect(of(findings, 'listen')).toEqual([expect.objectContaining({ status: 'ok' })])
  expect(of(findings, 'timeouts')).toEqual([expect.objectContaining({ status: 'ok' })])
  expect(of(findings, 'backlog')).toEqual([expect.objectContaining({ status: 'ok' })])
  // The test server runs without autovacuum: a warning, with the VACUUM to schedule.
  expect(of(findings, 'autovacuum')[0]?.advice ?? '').toMatch(/VACUUM \(ANALYZE\)|ALTER TABLE/)

  const text = await runCli(['doctor', '--schema', t.schema, '--skip', 'xmin-horizon,autovacuum'], { env: { DATABASE_URL: t.url } })
  expect(text.code).toBe(0)
  expect(text.stdout).toMatch(/^ok\s+schema\s+schema version \d+, up to date$/m)
  expect(text.stdout).toMatch(/0 problem\(s\), 0 warning\(s\)/)
})

test('a pending migration is a problem naming it and `txbox migrate`', async () => {
  const schema = `${t.schema}_old`
  await migrate(t.db, { schema })
  try {
    await sql`delete from ${sql.id(schema, 'txbox_migrations')} where version = 2`.execute(t.db)
    const result = await runCli(['doctor', '--json', '--schema', schema, '--skip', 'listen,xmin-horizon'], { env: { DATABASE_URL: t.url } })
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout).findings.filter((f: Finding) => f.check === 'schema')).toEqual([
      expect.objectContaining({ status: 'problem', summary: expect.stringContaining('0002_held_back_index'), advice: expect.stringContaining('txbox migrate') }),
    ])
    expect(result.stderr).toMatch(/doctor found 1 problem/)
  } finally {
    await sql`drop schema ${sql.id(schema)} cascade`.execute(t.db)
  }
})

test('a long-open transaction pinning the xmin horizon is a problem naming its session', async () => {
  const client = await t.client()
  const application = `txbox-doctor-test-${process.pid}`
  try {
    await client.query(`SET application_name = '${application}'`)
    await client.query('BEGIN')
    await client.query('SELECT txid_current()')
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
    // Open longer than the threshold given to the doctor.
    await waitFor(
      async () => (await t.pool.query<{ ms: number }>('SELECT extract(epoch FROM clock_timestamp() - xact_start) * 1000 AS ms FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]!.ms > 600,
      { timeoutMs: 5_000, message: 'the transaction is 600 ms old' },
    )
    const { code, findings } = await doctor(['--max-transaction-age', '500', '--skip', 'listen'])
    expect(code).toBe(1)
    const pinning = of(findings, 'xmin-horizon').find((f) => f.status === 'problem')
    expect(pinning?.summary).toMatch(/pin the xmin horizon/)
    expect(pinning?.summary).toContain(`pid ${pid} (${application}, idle in transaction`)
    expect(pinning?.advice).toMatch(/pg_terminate_backend.*idle_in_transaction_session_timeout/)
    expect(pinning?.details).toEqual(expect.arrayContaining([expect.objectContaining({ pid, application_name: application })]))
  } finally {
    await client.query('ROLLBACK').catch(() => {})
    await client.end()
  }
})

test('LISTEN swallowed by PgBouncer in transaction mode is a problem that says how to get wake-ups back', async () => {
  const { code, findings } = await doctor(['--listen-timeout', '1000', '--skip', 'xmin-horizon'], bouncer.url)
  expect(code).toBe(1)
  expect(of(findings, 'listen')).toEqual([
    expect.objectContaining({ status: 'problem', summary: expect.stringMatching(/did not reach LISTEN.*PgBouncer/), advice: expect.stringMatching(/direct connection/) }),
  ])
  // Everything else works through it.
  expect(of(findings, 'schema')).toEqual([expect.objectContaining({ status: 'ok' })])
  expect(of(findings, 'backlog')).toEqual([expect.objectContaining({ status: 'ok' })])
})

test('an idle-in-transaction timeout shorter than publishTimeout is caught (a warning: the relay sets its own; --strict fails on it)', async () => {
  const url = `${t.url}?options=${encodeURIComponent('-c idle_in_transaction_session_timeout=5000')}`
  const { code, findings } = await doctor(['--publish-timeout', '30000', '--skip', 'listen,xmin-horizon,autovacuum'], url)
  expect(code).toBe(0)
  expect(of(findings, 'timeouts')).toEqual([
    expect.objectContaining({
      status: 'warning',
      summary: expect.stringMatching(/^idle_in_transaction_session_timeout is 5000 ms .* shorter than publishTimeout \(30000 ms\)/),
      details: expect.objectContaining({ valueMs: 5000, publishTimeoutMs: 30000 }),
    }),
  ])
  const strict = await doctor(['--strict', '--skip', 'listen,xmin-horizon,autovacuum'], url)
  expect(strict.code).toBe(1)
  // Longer than publishTimeout: fine.
  expect(of((await doctor(['--publish-timeout', '4000', '--skip', 'listen,xmin-horizon,autovacuum'], url)).findings, 'timeouts')).toEqual([expect.objectContaining({ status: 'ok' })])
})

test('dead letters and lag are problems; an unknown --skip is a usage error', async () => {
  await sql`insert into ${sql.id(t.schema, 'outbox_dead')} (id, message_id, topic, payload, attempts, created_at) values (1, 'dead-1', 'orders', '{}', 10, now())`.execute(t.db)
  await sql`insert into ${sql.id(t.schema, 'outbox')} (message_id, topic, payload, created_at) values ('late-1', 'orders', '{}', now() - interval '2 minutes')`.execute(t.db)
  try {
    const { code, findings } = await doctor(['--max-lag', '60000', '--skip', 'listen,xmin-horizon'])
    expect(code).toBe(1)
    expect(of(findings, 'backlog').map((f) => [f.status, f.advice])).toEqual([
      ['problem', expect.stringContaining('txbox status')],
      ['problem', expect.stringContaining('txbox dead list')],
    ])
  } finally {
    await sql`truncate ${sql.id(t.schema, 'outbox_dead')}, ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  }
  const usage = await runCli(['doctor', '--skip', 'nope'], { env: { DATABASE_URL: t.url } })
  expect(usage.code).toBe(2)
  expect(usage.stderr).toMatch(/unknown check nope/)
})
