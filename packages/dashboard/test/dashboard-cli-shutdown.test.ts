import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { migrate } from '@txbox/core'
import { useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, startCli } from '../../core/test/cli/cli-process.js'

// `txbox dashboard` told to stop while its queries are stuck (a lock held on
// a table, as a long migration or a VACUUM FULL would) exits anyway, within
// its bound, instead of waiting for the lock.
const dashboardPackage = path.join(repoRoot, 'packages/dashboard')
const project = mkdtempSync(path.join(tmpdir(), 'txbox-dashboard-stop-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
symlinkSync(dashboardPackage, path.join(project, 'node_modules/@txbox/dashboard'), 'dir')

const t = useTestDatabase('dash_stop')

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(dashboardPackage, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
}, 180_000)
afterAll(() => {
  rmSync(project, { recursive: true, force: true })
})

test('SIGTERM while a page request waits on a lock held on the dead letters: the process exits within its 5 s bound, not when the lock goes', async () => {
  const token = 'shutdown-test-token-0123456789'
  const cli = startCli(['dashboard', '--port', '0', '--schema', t.schema, '--log-format', 'json', '--token', token], { cwd: project, env: { DATABASE_URL: t.url } })
  const locker = await t.client()
  const request = new AbortController()
  try {
    const logged = await waitForValue(() => /"url":"([^"]+)"/.exec(cli.stdout() + cli.stderr())?.[1], (u) => u !== undefined, {
      timeoutMs: 15_000,
      message: `txbox dashboard logs its URL (stderr: ${cli.stderr()})`,
    })
    await locker.query('BEGIN')
    await locker.query(`LOCK TABLE ${sql.id(t.schema, 'outbox_dead').compile(t.db).sql} IN ACCESS EXCLUSIVE MODE`)
    // A page asks for the dead letters: its query now waits for the lock.
    const pending = fetch(`${logged}/api/dead-letters`, { headers: { authorization: `Bearer ${token}` }, signal: request.signal }).catch(() => undefined)
    await waitFor(
      async () => {
        const { rows } = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'txbox-cli' AND wait_event_type = 'Lock'`)
        return rows[0].n > 0
      },
      { timeoutMs: 20_000 },
    )
    const stopAt = Date.now()
    cli.kill('SIGTERM')
    // The lock is held for a minute more: only the bound can let the process go.
    let timer: ReturnType<typeof setTimeout> | undefined
    const exited = await Promise.race([
      cli.exited.then(() => Date.now() - stopAt),
      new Promise<number>((resolve) => {
        timer = setTimeout(() => resolve(-1), 60_000)
      }),
    ])
    clearTimeout(timer)
    expect(exited).toBeGreaterThan(0)
    expect(exited).toBeLessThan(30_000)
    expect(cli.stderr() + cli.stdout()).toContain('did not close within the bound')
    await pending
  } finally {
    request.abort()
    cli.kill('SIGKILL')
    await locker.query('ROLLBACK').catch(() => {})
    await locker.end()
  }
}, 120_000)
