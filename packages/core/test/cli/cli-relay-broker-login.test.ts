import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { migrate } from '@txbox/core'
import { serviceUrls, useTestDatabase, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, runCli } from './cli-process.js'

// `txbox relay` checks at start that the broker accepts its login, not only
// that its port answers: a wrong password or vhost is one line saying what to
// check and exit 1, never a relay that logs "relaying" and fails every publish.
const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-login-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
const adapters = { redis: path.join(repoRoot, 'packages/redis'), rabbitmq: path.join(repoRoot, 'packages/rabbitmq') }
const install = (adapter: keyof typeof adapters, client: string) => {
  symlinkSync(adapters[adapter], path.join(project, `node_modules/@txbox/${adapter}`), 'dir')
  const resolved = createRequire(path.join(adapters[adapter], 'package.json')).resolve(`${client}/package.json`)
  symlinkSync(path.dirname(realpathSync(resolved)), path.join(project, `node_modules/${client}`), 'dir')
}
install('redis', 'ioredis')
install('rabbitmq', 'amqplib')

const t = useTestDatabase('clilogin')
const amqp = new URL(serviceUrls().amqpUrl)
/** A redis-server of this file's own that wants a password (the shared one wants none). */
let guardedRedis: { port: number; stop(): Promise<void> }

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(adapters.redis, 'dist/index.js')
  await ensureBuilt(adapters.rabbitmq, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
  guardedRedis = await startRedisWithPassword('s3cret-pw')
}, 180_000)

afterAll(async () => {
  await guardedRedis?.stop()
  rmSync(project, { recursive: true, force: true })
})

const relay = (brokerUrl: string, ...args: string[]) =>
  runCli(['relay', '--schema', t.schema, ...args], { cwd: project, env: { DATABASE_URL: t.url, TXBOX_BROKER_URL: brokerUrl } })

function amqpUrl(change: (url: URL) => void): string {
  const url = new URL(amqp.href)
  change(url)
  return url.href
}

/** One line on stderr, exit 1, nothing relayed. */
function expectOneLineFailure(result: { code: number | null; stderr: string }): string {
  expect(result.code, result.stderr).toBe(1)
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1)
  expect(result.stderr).not.toMatch(/relaying/)
  return result.stderr
}

describe.concurrent('txbox relay refuses to start when the broker refuses its login', () => {
  test('RabbitMQ, a wrong password: exit 1, one line saying to check the user name and password, the password masked', async () => {
    const stderr = expectOneLineFailure(await relay(amqpUrl((u) => { u.password = 'wr0ng-pw' }), '--exchange', 'txbox_login_test'))
    expect(stderr).toMatch(/^txbox: RabbitMQ at amqp:\/\/[^@]+:\*\*\*@[^ ]+ refused the login .*ACCESS.REFUSED.*: check the user name and password in the URL/)
    expect(stderr).not.toContain('wr0ng-pw')
  })

  test('RabbitMQ, a vhost that does not exist: exit 1, one line naming the vhost to check', async () => {
    const stderr = expectOneLineFailure(await relay(amqpUrl((u) => { u.pathname = '/txbox-no-such-vhost' }), '--exchange', 'txbox_login_test'))
    expect(stderr).toMatch(/^txbox: RabbitMQ at amqp:\/\/\S+\/txbox-no-such-vhost did not open the virtual host "txbox-no-such-vhost": check that it exists and that user "[^"]+" has permissions on it/)
  })

  test('Redis, a wrong password: exit 1, one line saying to check the password', async () => {
    const stderr = expectOneLineFailure(await relay(`redis://:wr0ng-pw@127.0.0.1:${guardedRedis.port}`))
    expect(stderr).toMatch(/^txbox: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the login \(WRONGPASS[^)]*\): check the user name and password in the URL/)
    expect(stderr).not.toContain('wr0ng-pw')
  })

  test('Redis that wants a password, none given: exit 1, one line saying to put it in the URL', async () => {
    const stderr = expectOneLineFailure(await relay(`redis://127.0.0.1:${guardedRedis.port}`))
    expect(stderr).toMatch(/^txbox: Redis at redis:\/\/127\.0\.0\.1:\d+ wants a password \(NOAUTH[^)]*\): put it in the URL, after a colon before the @/)
  })

  test('Redis, a user that does not exist: exit 1, one line saying to check the user name and password', async () => {
    const stderr = expectOneLineFailure(await relay(`redis://nobody-here:pw@${new URL(serviceUrls().redisUrl).host}`))
    expect(stderr).toMatch(/refused the login \(WRONGPASS[^)]*\): check the user name and password in the URL/)
  })
})

async function startRedisWithPassword(password: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password], {
    stdio: 'ignore',
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await waitFor(() => answers(port), { timeoutMs: 10_000, intervalMs: 20, message: `redis-server on port ${port}` })
  return {
    port,
    async stop() {
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}
