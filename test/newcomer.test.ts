import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { enqueueOnCommit, withTransaction } from '@txbox/core'
import { serviceUrls, uniqueName, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { projectOf, readProjectFiles, shellCommands } from '../docs/code-blocks.js'
import { type OwnRedisServer, startOwnRedisServer } from './support/redis-server.js'

// A newcomer's first hour, as a test: getting started and the adapter pages,
// followed from an empty folder with the packed tarballs (`npm install` needs
// the npm registry for kysely, pg, ioredis, amqplib and the types). The test
// runs each page's ```sh commands in order and writes its `file:` blocks,
// then checks that a message is delivered and that every process the page
// starts exits within 2 s of SIGTERM. Each page gets its own database, its
// own Redis server and its own RabbitMQ vhost: the docs use the default
// names (schema txbox, stream email.welcome, exchange events).

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const files = readProjectFiles(root)
/** Processes the pages start and leave running (by their file in dist/). */
const LONG_RUNNING = new Set(['relay', 'worker', 'app'])
const STOP_WITHIN_MS = 2_000

const work = mkdtempSync(join(tmpdir(), 'txbox-newcomer-'))
const tarballs = new Map<string, string>()
const cleanups: (() => Promise<unknown>)[] = []
const processes: Started[] = []

beforeAll(async () => {
  const packs = join(work, 'packs')
  mkdirSync(packs)
  for (const name of ['core', 'redis', 'rabbitmq']) {
    const dir = join(root, 'packages', name)
    expectBuilt(dir)
    await run('pnpm', ['pack', '--pack-destination', packs], { cwd: dir })
  }
  for (const file of readdirSync(packs)) tarballs.set(`@txbox/${/^txbox-(\w+)-/.exec(file)?.[1]}`, join(packs, file))
  expect([...tarballs.keys()].sort()).toEqual(['@txbox/core', '@txbox/rabbitmq', '@txbox/redis'])
}, 180_000)

afterAll(async () => {
  for (const p of processes) p.proc.kill('SIGKILL')
  await Promise.all(processes.map((p) => p.exited))
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.warn('newcomer test cleanup:', error))
  rmSync(work, { recursive: true, force: true })
}, 60_000)

/** The tarballs hold dist/: it must be built from the current sources (`pnpm test` builds first). */
function expectBuilt(packageDir: string): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)))
  const built = join(packageDir, 'dist/index.js')
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(packageDir, 'src'))) {
    throw new Error(`${built} is missing or older than its sources: run \`pnpm build\` first (\`pnpm test\` does).`)
  }
}

interface Started {
  readonly name: string
  readonly proc: ChildProcess
  output(): string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** A database of its own, dropped at the end. */
async function freshDatabase(): Promise<{ url: string; db: Kysely<any> }> {
  const admin = new pg.Client({ connectionString: serviceUrls().databaseUrl })
  await admin.connect()
  const name = uniqueName('newcomer')
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(serviceUrls().databaseUrl)
  url.pathname = `/${name}`
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.href, max: 2 }) }) })
  cleanups.push(async () => {
    await db.destroy()
    const end = new pg.Client({ connectionString: serviceUrls().databaseUrl })
    await end.connect()
    await end.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => end.end())
  })
  return { url: url.href, db }
}

async function ownRedis(): Promise<OwnRedisServer> {
  const server = await startOwnRedisServer()
  cleanups.push(() => server.close())
  return server
}

/** A RabbitMQ vhost of its own for the shared broker's user, deleted at the end. */
async function ownVhost(): Promise<string> {
  const base = new URL(serviceUrls().amqpUrl)
  const vhost = uniqueName('newcomer')
  await run('rabbitmqctl', ['--quiet', 'add_vhost', vhost], { timeout: 30_000 })
  cleanups.push(() => run('rabbitmqctl', ['--quiet', 'delete_vhost', vhost], { timeout: 30_000 }))
  await run('rabbitmqctl', ['--quiet', 'set_permissions', '-p', vhost, decodeURIComponent(base.username), '.*', '.*', '.*'], { timeout: 30_000 })
  base.pathname = `/${vhost}`
  return base.href
}

// What a newcomer's shell has that npm needs to reach the registry: the machine's certificate
// authorities and proxy. Without them, npm run by another Node (CI's Node 22 run, whose npm reads
// no global npmrc) fails with SELF_SIGNED_CERT_IN_CHAIN behind an intercepting proxy.
const REGISTRY_ACCESS = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'npm_config_cafile',
  'npm_config_registry',
]

function environment(vars: Record<string, string>): Record<string, string> {
  const passed = Object.fromEntries(REGISTRY_ACCESS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])))
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...passed, NO_COLOR: '1', npm_config_update_notifier: 'false', ...vars }
}

function start(name: string, command: string, args: string[], cwd: string, env: Record<string, string>): Started {
  const proc = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  const started = { name, proc, output: () => output, exited }
  processes.push(started)
  return started
}

/** Sends SIGTERM and returns how long the process took to exit, and how (rejects after 10 s). */
async function stop(p: Started): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }> {
  const sent = Date.now()
  p.proc.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${p.name} was still running 10 s after SIGTERM:\n${p.output()}`)), 10_000)
  })
  try {
    const how = await Promise.race([p.exited, late])
    return { ms: Date.now() - sent, ...how }
  } finally {
    clearTimeout(timer)
  }
}

async function expectStopsOnSigterm(p: Started): Promise<void> {
  const { ms, code, signal } = await stop(p)
  expect({ process: p.name, code, signal }, p.output()).toEqual({ process: p.name, code: 0, signal: null })
  expect(ms, `${p.name} took ${ms} ms to exit after SIGTERM:\n${p.output()}`).toBeLessThan(STOP_WITHIN_MS)
}

/**
 * Follows `page` in an empty folder: writes its example project (its own
 * `file:` blocks on top of getting started's), then runs its shell commands
 * in order, `npm install` taking the tarballs for @txbox/*. Processes of
 * LONG_RUNNING files are started and returned, the rest run to completion.
 */
async function followPage(page: string, vars: Record<string, string>, dir = mkdtempSync(join(work, 'page-'))): Promise<{ dir: string; started: Map<string, Started> }> {
  const env = environment(vars)
  for (const [path, file] of projectOf(page, files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), `${file.code}\n`)
  }
  const started = new Map<string, Started>()
  const commands = shellCommands(readFileSync(join(root, page), 'utf8')).flatMap((line) => line.split('&&').map((c) => c.trim()))
  for (const command of commands) {
    const exported = /^export (.*)$/.exec(command)
    if (exported) {
      const names = (exported[1] ?? '').split(/\s+/).map((pair) => pair.split('=')[0])
      for (const name of names) expect(Object.keys(vars), `${page} exports ${name}, which the code reads: the test must set it`).toContain(name)
      continue
    }
    if (/\btxbox relay\b/.test(command)) continue // the CLI relay: checked on its own, below
    const node = /^node dist\/([\w-]+)\.js$/.exec(command)
    if (node && LONG_RUNNING.has(node[1] as string)) {
      started.set(node[1] as string, start(node[1] as string, process.execPath, [`dist/${node[1]}.js`], dir, env))
      continue
    }
    // A one-off script run while the page's processes run (sign someone up): they must still be running.
    if (node) expectStillRunning(page, started)
    const known = /^(npm (init|pkg|install)|npx (tsc|txbox (migrate|status))$|psql |node dist\/)/.test(command)
    expect(known, `${page}: the test does not know the command "${command}"; teach it (test/newcomer.test.ts)`).toBe(true)
    const line = command.startsWith('npm install') ? `${withTarballs(command)} --no-audit --no-fund` : command
    try {
      await run('sh', ['-c', line], { cwd: dir, env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 })
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string }
      throw new Error(`${page}: \`${line}\` failed: ${(error as Error).message}\n${stdout ?? ''}\n${stderr ?? ''}`)
    }
  }
  return { dir, started }
}

/** The line with each @txbox/* package replaced by its tarball. */
function withTarballs(command: string): string {
  return command.replace(/(^|\s)(@txbox\/\w+)(?=\s|$)/g, (_whole, space: string, name: string) => `${space}${tarballs.get(name) ?? name}`)
}

function expectStillRunning(page: string, started: Map<string, Started>): void {
  for (const p of started.values()) expect(p.proc.exitCode === null && p.proc.signalCode === null, `${page}: ${p.name} exited early:\n${p.output()}`).toBe(true)
}

async function enqueueWelcome(db: Kysely<any>, email: string): Promise<void> {
  await withTransaction(db, (trx) => enqueueOnCommit(trx, { topic: 'email.welcome', key: `user:${email}`, payload: { userId: 1, email } }))
}

function expectAlive(page: string, started: Map<string, Started>, name: string): Started {
  const p = started.get(name)
  expect(p, `${page} starts node dist/${name}.js`).toBeDefined()
  return p as Started
}

describe('a newcomer follows the docs from an empty folder, with the packed tarballs', () => {
  test('getting started: install, migrate, relay, worker, sign-up: the welcome email is sent, and each process exits within 2 s of SIGTERM', async () => {
    const page = 'docs/getting-started.md'
    const database = await freshDatabase()
    const redis = await ownRedis()
    const { dir, started } = await followPage(page, { DATABASE_URL: database.url, REDIS_URL: redis.url })
    const relay = expectAlive(page, started, 'relay')
    const worker = expectAlive(page, started, 'worker')
    await waitFor(() => worker.output().includes('welcome email to ada@example.com'), {
      timeoutMs: 20_000,
      message: `the worker sends the welcome email\nworker:\n${worker.output()}\nrelay:\n${relay.output()}`,
    })
    await expectStopsOnSigterm(relay)
    await expectStopsOnSigterm(worker)

    // The README's example builds on the same project (src/db.ts): add its file, compile, run.
    const app = projectOf('README.md', files).get('src/app.ts')
    expect(app?.page, 'README.md has a file: src/app.ts block').toBe('README.md')
    writeFileSync(join(dir, 'src/app.ts'), `${app?.code}\n`)
    await run('sh', ['-c', 'npx tsc'], { cwd: dir, env: environment({}) })
    const env = environment({ DATABASE_URL: database.url, REDIS_URL: redis.url })
    const readme = start('README app', process.execPath, ['dist/app.js'], dir, env)
    const client = new Redis(redis.url)
    try {
      const before = await client.xlen('email.welcome')
      await enqueueWelcome(database.db, 'readme@example.com')
      await waitFor(async () => (await client.xlen('email.welcome')) > before, { timeoutMs: 20_000, message: `the README's relay publishes:\n${readme.output()}` })
    } finally {
      await client.quit()
    }
    await expectStopsOnSigterm(readme)

    // The CLI relay, started as the docs tell process managers to.
    const cli = start('txbox relay', join(dir, 'node_modules/.bin/txbox'), ['relay'], dir, { ...env, TXBOX_BROKER_URL: redis.url })
    await waitFor(() => cli.output().includes('relaying;'), { timeoutMs: 20_000, message: `txbox relay starts:\n${cli.output()}` })
    await expectStopsOnSigterm(cli)
  }, 240_000)

  test('npx txbox relay: npm exits on SIGTERM and the relay keeps running, orphaned (why the docs say to start it without npx)', async () => {
    const dir = readdirSync(work).find((d) => d.startsWith('page-'))
    expect(dir, 'the getting-started project of the test above').toBeDefined()
    const cwd = join(work, dir as string)
    const database = await freshDatabase()
    const redis = await ownRedis()
    await run('sh', ['-c', 'npx txbox migrate'], { cwd, env: environment({ DATABASE_URL: database.url }) })
    const npx = start('npx txbox relay', 'npx', ['txbox', 'relay'], cwd, environment({ DATABASE_URL: database.url, TXBOX_BROKER_URL: redis.url }))
    await waitFor(() => npx.output().includes('relaying;'), { timeoutMs: 30_000, message: `npx txbox relay starts:\n${npx.output()}` })
    // npx is the group leader (detached); the relay is the node process of its group running the txbox bin.
    const { stdout } = await run('ps', ['-o', 'pid=,args=', '-g', String(npx.proc.pid)])
    const relayPid = Number(/^\s*(\d+)\s+node\s+\S*txbox relay/m.exec(stdout)?.[1])
    expect(relayPid, stdout).toBeGreaterThan(0)
    npx.proc.kill('SIGTERM')
    await npx.exited
    const relayExited = () => {
      try {
        process.kill(relayPid, 0)
        return false
      } catch {
        return true
      }
    }
    await expect(waitFor(relayExited, { timeoutMs: STOP_WITHIN_MS, intervalMs: 50 })).rejects.toThrow(/not met/)
    expect(npx.output()).not.toMatch(/stopping/)
    // Told directly, the orphan stops as it should.
    process.kill(relayPid, 'SIGTERM')
    await waitFor(relayExited, { timeoutMs: 10_000, message: 'the orphaned relay stops on its own SIGTERM' })
  }, 120_000)

  test('the Redis page: relay and worker deliver a message, and each exits within 2 s of SIGTERM', async () => {
    const page = 'docs/adapters/redis.md'
    const database = await freshDatabase()
    const redis = await ownRedis()
    const { started } = await followPage(page, { DATABASE_URL: database.url, REDIS_URL: redis.url })
    const relay = expectAlive(page, started, 'relay')
    const worker = expectAlive(page, started, 'worker')
    await enqueueWelcome(database.db, 'grace@example.com')
    await waitFor(() => worker.output().includes('welcome email to grace@example.com'), {
      timeoutMs: 20_000,
      message: `the worker sends the welcome email\nworker:\n${worker.output()}\nrelay:\n${relay.output()}`,
    })
    await expectStopsOnSigterm(relay)
    await expectStopsOnSigterm(worker)
  }, 240_000)

  test('the RabbitMQ page: worker and relay deliver a message, and each exits within 2 s of SIGTERM', async () => {
    const page = 'docs/adapters/rabbitmq.md'
    const database = await freshDatabase()
    const amqpUrl = await ownVhost()
    const { started } = await followPage(page, { DATABASE_URL: database.url, AMQP_URL: amqpUrl })
    const relay = expectAlive(page, started, 'relay')
    const worker = expectAlive(page, started, 'worker')
    await enqueueWelcome(database.db, 'hopper@example.com')
    // Until the worker has declared and bound its queue, the message is unroutable and retried.
    await waitFor(() => worker.output().includes('welcome email to hopper@example.com'), {
      timeoutMs: 30_000,
      message: `the worker sends the welcome email\nworker:\n${worker.output()}\nrelay:\n${relay.output()}`,
    })
    await expectStopsOnSigterm(worker)
    await expectStopsOnSigterm(relay)
  }, 240_000)
})

// The example projects' processes use these names; keep the docs and the test in step.
test('every page followed above starts only processes the test knows', () => {
  for (const page of ['docs/getting-started.md', 'docs/adapters/redis.md', 'docs/adapters/rabbitmq.md']) {
    const names = shellCommands(readFileSync(join(root, page), 'utf8')).flatMap((line) => [...line.matchAll(/node dist\/([\w-]+)\.js/g)].map((m) => m[1]))
    for (const name of names) expect(LONG_RUNNING.has(name as string) || name === 'try', `${page}: node dist/${name}.js`).toBe(true)
  }
})
