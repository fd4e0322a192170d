import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, runCli } from './cli-process.js'

// A user's project with no adapter installed: the relay must say what to install.
const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-empty-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')

// A project with the four adapters installed: the CLI finds them by their broker descriptors.
const withAdapters = mkdtempSync(path.join(tmpdir(), 'txbox-cli-adapters-'))
writeFileSync(path.join(withAdapters, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(withAdapters, 'node_modules/@txbox'), { recursive: true })
const ADAPTERS = ['redis', 'rabbitmq', 'bullmq', 'nats'] as const
for (const adapter of ADAPTERS) symlinkSync(path.join(repoRoot, 'packages', adapter), path.join(withAdapters, `node_modules/@txbox/${adapter}`), 'dir')

beforeAll(async () => {
  await ensureCliBuilt()
  // @txbox/bullmq imports @txbox/redis: build that first.
  for (const adapter of ADAPTERS) await ensureBuilt(path.join(repoRoot, 'packages', adapter), 'dist/index.js')
}, 180_000)
afterAll(() => {
  rmSync(project, { recursive: true, force: true })
  rmSync(withAdapters, { recursive: true, force: true })
})

const env = (brokerUrl: string) => ({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', TXBOX_BROKER_URL: brokerUrl })

describe.concurrent('txbox relay without the adapter installed', () => {
  test('a redis:// broker names @txbox/redis and ioredis to install, in one line, exit 1', async () => {
    const result = await runCli(['relay'], { cwd: project, env: env('redis://:r3dis-pw@127.0.0.1:6379') })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`txbox: a redis:// broker URL needs @txbox/redis, which is not installed in ${project}. Install it there: npm install @txbox/redis ioredis@5\n`)
  })

  test('an amqp:// broker names @txbox/rabbitmq and amqplib to install, in one line, exit 1', async () => {
    const result = await runCli(['relay', '--exchange', 'events'], { cwd: project, env: env('amqp://guest:guest@127.0.0.1:5672') })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`txbox: an amqp:// broker URL needs @txbox/rabbitmq, which is not installed in ${project}. Install it there: npm install @txbox/rabbitmq amqplib\n`)
  })
})

describe.concurrent('txbox relay broker usage errors exit 2', () => {
  test('an unsupported scheme, with the password masked', async () => {
    const result = await runCli(['relay'], { cwd: project, env: env('kafka://user:k4fka-pw@127.0.0.1:9092') })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^txbox: unsupported broker URL kafka:\/\/user:\*\*\*@127\.0\.0\.1:9092: use redis:\/\//)
    expect(result.stderr).not.toContain('k4fka-pw')
  })

  test('an amqp:// broker without --exchange', async () => {
    const result = await runCli(['relay'], { cwd: withAdapters, env: env('amqp://guest:guest@127.0.0.1:5672') })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/needs --exchange <name>/)
  })

  test('--exchange with a redis:// broker', async () => {
    const result = await runCli(['relay', '--exchange', 'x'], { cwd: withAdapters, env: env('redis://127.0.0.1:6379') })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--exchange is not an option of the Redis broker; it takes --stream, --max-len/)
  })

  test("another adapter's flag, passed through to it: --queue with a nats:// broker", async () => {
    const result = await runCli(['relay', '--queue', 'jobs'], { cwd: withAdapters, env: env('nats://127.0.0.1:4222') })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--queue is not an option of the NATS broker; it takes --subject/)
  })
})

describe.concurrent('txbox relay finds the installed adapters by their broker descriptors', () => {
  test.each([
    ['bullmq+redis://127.0.0.1:1', /^txbox: cannot use Redis at bullmq\+redis:\/\/127\.0\.0\.1:1 for BullMQ: connect ECONNREFUSED/],
    ['nats://127.0.0.1:1', /^txbox: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/],
    ['redis://127.0.0.1:1', /^txbox: cannot reach the broker at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/],
  ])('%s reaches its adapter, which says what it could not reach (exit 1)', async (url, said) => {
    const result = await runCli(['relay'], { cwd: withAdapters, env: env(url) })
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toMatch(said)
  })
})
