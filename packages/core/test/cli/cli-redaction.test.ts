import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { migrate } from '@txbox/core'
import { serviceUrls, useTestDatabase, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, runCli, startCli } from './cli-process.js'

// Every path where `txbox` prints a URL masks the password FIELD (userinfo,
// password query parameters, libpq password=...) and leaves the rest of the
// line as it is, even where the password's text occurs again (a password
// "127" with the host 127.0.0.1, "guest:guest@").

// A user's project with both broker adapters installed, as npm would.
const adapters = {
  '@txbox/redis': path.join(repoRoot, 'packages/redis'),
  '@txbox/rabbitmq': path.join(repoRoot, 'packages/rabbitmq'),
}
const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-redaction-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
for (const [name, dir] of Object.entries(adapters)) symlinkSync(dir, path.join(project, 'node_modules', name), 'dir')
const driver = (adapter: string, name: string) => path.dirname(realpathSync(createRequire(path.join(adapter, 'package.json')).resolve(`${name}/package.json`)))
symlinkSync(driver(adapters['@txbox/redis'], 'ioredis'), path.join(project, 'node_modules/ioredis'), 'dir')
symlinkSync(driver(adapters['@txbox/rabbitmq'], 'amqplib'), path.join(project, 'node_modules/amqplib'), 'dir')

const t = useTestDatabase('cliredact')

beforeAll(async () => {
  await ensureCliBuilt()
  for (const dir of Object.values(adapters)) await ensureBuilt(dir, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
}, 180_000)
afterAll(() => rmSync(project, { recursive: true, force: true }))

const DOWN = 'postgres://postgres@127.0.0.1:1/x'

describe.concurrent('an unreachable database', () => {
  test.each([
    ['postgres://postgres:127@127.0.0.1:1/x', 'postgres://postgres:***@127.0.0.1:1/x'],
    ['postgres://postgres@127.0.0.1:1/x?password=s3cret-pw', 'postgres://postgres@127.0.0.1:1/x?password=***'],
    ['postgres://postgres@127.0.0.1:1/x?sslpassword=k3y-pw&application_name=app', 'postgres://postgres@127.0.0.1:1/x?sslpassword=***&application_name=app'],
  ])('%s is named as %s, the rest of the line intact', async (url, shown) => {
    const result = await runCli(['status'], { env: { DATABASE_URL: url } })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`txbox: cannot connect to the database at ${shown}: connect ECONNREFUSED 127.0.0.1:1\n`)
  })
})

test('a libpq key=value string (node-postgres reads URLs only): a usage error naming it with its password masked', async () => {
  const result = await runCli(['status'], { env: { DATABASE_URL: 'host=127.0.0.1 port=1 user=postgres password=127 dbname=x' } })
  expect(result.code).toBe(2)
  expect(result.stderr).toMatch(/^txbox: .*host=127\.0\.0\.1 port=1 user=postgres password=\*\*\* dbname=x is a key=value string.*give a URL/)
  expect(result.stderr.split('\n')).toHaveLength(2)
})

test('a mistyped option carrying a URL: the usage error masks its password', async () => {
  const result = await runCli(['status', '--databse-url=postgres://app:127@127.0.0.1:1/x?password=hunter2'])
  expect(result.code).toBe(2)
  expect(result.stderr).toMatch(/^txbox: unknown option '--databse-url=postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/x\?password=\*\*\*'\n/)
})

describe.concurrent('broker URLs at start', () => {
  const relay = (brokerUrl: string, ...args: string[]) => runCli(['relay', ...args], { cwd: project, env: { DATABASE_URL: DOWN, TXBOX_BROKER_URL: brokerUrl } })

  test('an unsupported scheme with a password parameter', async () => {
    const result = await relay('kafka://127.0.0.1:9092/?password=k4fka-pw')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^txbox: unsupported broker URL kafka:\/\/127\.0\.0\.1:9092\/\?password=\*\*\*: use redis:\/\//)
  })

  test('a broker URL without a scheme', async () => {
    const result = await relay('guest:127@127.0.0.1:5672')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/guest:\*\*\*@127\.0\.0\.1:5672/)
    expect(result.stderr).not.toMatch(/:127@/)
  })

  test.each([
    ['redis://:127@127.0.0.1:1', 'redis://:***@127.0.0.1:1'],
    ['redis://127.0.0.1:1/?password=r3dis-pw', 'redis://127.0.0.1:1/?password=***'],
  ])('an unreachable Redis %s is named as %s', async (url, shown) => {
    const result = await relay(url)
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`txbox: cannot reach the broker at ${shown}: connect ECONNREFUSED 127.0.0.1:1\n`)
  })

  test('an unreachable RabbitMQ amqp://guest:guest@… is named as amqp://guest:***@…', async () => {
    const result = await relay('amqp://guest:guest@127.0.0.1:1', '--exchange', 'events')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('txbox: cannot reach the broker at amqp://guest:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n')
  })
})

describe('the relay start log', () => {
  // Trust authentication: the database accepts any password, so "127" is one.
  const database = new URL(t.url)
  database.password = '127'
  const shownDatabase = database.toString().replace(':127@', ':***@')

  async function startLine(brokerUrl: string, args: string[]): Promise<string> {
    const relay = startCli(['relay', '--schema', t.schema, '--no-listen', ...args], {
      cwd: project,
      env: { DATABASE_URL: database.toString(), TXBOX_BROKER_URL: brokerUrl },
    })
    try {
      await waitFor(() => /relaying/.test(relay.stderr()), { timeoutMs: 20_000, message: `the relay started: ${relay.stderr()}` })
    } finally {
      relay.kill('SIGTERM')
    }
    const result = await relay.exited
    expect(result.code).toBe(0)
    return result.stderr.split('\n').find((line) => /relaying/.test(line)) as string
  }

  test('pretty: Redis with a password parameter, the database with password 127 on host 127.0.0.1', async () => {
    const redis = new URL(serviceUrls().redisUrl)
    redis.searchParams.set('password', 'r3dis-pw')
    const line = await startLine(redis.toString(), [])
    expect(line).toContain(`broker="${redis.toString().replace('r3dis-pw', '***')}"`)
    expect(line).toContain(`database="${shownDatabase}"`)
    expect(shownDatabase).toMatch(/@127\.0\.0\.1:/)
  })

  test('json: RabbitMQ as guest:guest', async () => {
    const amqp = new URL(serviceUrls().amqpUrl)
    expect(amqp.username).toBe('guest')
    const line = JSON.parse(await startLine(amqp.toString(), ['--exchange', 'txbox_cli_redaction', '--log-format', 'json']))
    expect(line.broker).toBe(amqp.toString().replace(/:[^:@/]*@/, ':***@'))
    expect(line.broker).toMatch(/^amqp:\/\/guest:\*\*\*@/)
    expect(line.database).toBe(shownDatabase)
  })
})
