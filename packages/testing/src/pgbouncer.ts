import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { serviceUrls } from './services.js'
import { waitFor } from './wait-for.js'

/** A PgBouncer of the test's own, in front of the test PostgreSQL. */
export interface OwnPgBouncer {
  readonly port: number
  /** The test database's URL, through PgBouncer. */
  readonly url: string
  /** Stops PgBouncer and removes its files. Idempotent. */
  close(): Promise<void>
}

const BINARY_PATHS = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']

/**
 * Starts PgBouncer (Debian's `pgbouncer` package, installed with apt-get when
 * it is missing and the tests run as root) on a free port of 127.0.0.1, in
 * front of the test PostgreSQL, in `poolMode` (default `transaction`: the mode
 * that breaks LISTEN and session state). Each server connection pool holds
 * `poolSize` connections (default 3), so clients share them, as in production.
 */
export async function startPgBouncer(options: { poolMode?: 'session' | 'transaction'; poolSize?: number } = {}): Promise<OwnPgBouncer> {
  const binary = pgbouncerBinary()
  const target = new URL(serviceUrls().databaseUrl)
  const user = decodeURIComponent(target.username || 'postgres')
  const database = target.pathname.slice(1) || 'postgres'
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'txbox-pgbouncer-'))
  const ini = join(dir, 'pgbouncer.ini')
  const users = join(dir, 'userlist.txt')
  await writeFile(users, `"${user}" "${decodeURIComponent(target.password)}"\n`)
  await writeFile(
    ini,
    `[databases]
* = host=${target.hostname} port=${target.port || 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = ${target.password ? 'plain' : 'trust'}
auth_file = ${users}
pool_mode = ${options.poolMode ?? 'transaction'}
default_pool_size = ${options.poolSize ?? 3}
max_client_conn = 200
; node-postgres sends extra_float_digits; the tests never rely on session options
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
`,
  )
  // PgBouncer refuses to run as root: as root, it switches to the postgres user, which must read the files.
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    await chmod(dir, 0o755)
    await chmod(ini, 0o644)
    await chmod(users, 0o644)
  }
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `postgres://${encodeURIComponent(user)}${target.password ? `:${target.password}` : ''}@127.0.0.1:${port}/${database}`
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(() => answers(url), { timeoutMs: 15_000, intervalMs: 50, message: `pgbouncer on port ${port} (${stderr.trim()})` })
  } catch (error) {
    await close()
    throw error
  }
  return { port, url, close }
}

function pgbouncerBinary(): string {
  const found = () => BINARY_PATHS.find((p) => existsSync(p))
  const binary = found()
  if (binary) return binary
  if (process.getuid?.() !== 0) throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (as root)')
  // Debian's package starts no service here (no init system in CI containers).
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], { stdio: 'pipe', env })
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'pipe', env })
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], { stdio: 'pipe', env })
  }
  const installed = found()
  if (!installed) throw new Error('apt-get installed pgbouncer, but its binary is in none of the usual places')
  return installed
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}
