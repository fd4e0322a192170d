import { beforeAll, describe, expect, test } from 'vitest'
import { ensureCliBuilt, runCli } from './cli-process.js'

beforeAll(ensureCliBuilt, 180_000)

const NO_DB = {}
const DEAD_DB = { DATABASE_URL: 'postgres://postgres:s3cret-pw@127.0.0.1:1/x' }

/** A message is one line on stderr, with no stack trace. */
function expectOneLine(stderr: string): void {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

describe.concurrent('help', () => {
  test.each([
    [[], /Usage: txbox \[options\] \[command\][\s\S]*Exit codes:\n {2}0 {2}success\n {2}1 {2}failure[\s\S]*2 {2}usage error/],
    [['migrate'], /Usage: txbox migrate[\s\S]*--print-sql[\s\S]*Examples:\n {2}\$ /],
    [['relay'], /Usage: txbox relay[\s\S]*--broker-url <url>[\s\S]*--batch-size <n>[\s\S]*--concurrency <n>[\s\S]*--poll-interval <ms>[\s\S]*--max-attempts[\s\S]*--exchange[\s\S]*--stream[\s\S]*--log-format[\s\S]*--no-listen[\s\S]*Examples:/],
    [['status'], /Usage: txbox status[\s\S]*--json[\s\S]*Examples:/],
    [['dead'], /Usage: txbox dead[\s\S]*list[\s\S]*retry[\s\S]*purge[\s\S]*Examples:/],
    [['dead', 'list'], /Usage: txbox dead list[\s\S]*--topic[\s\S]*--limit[\s\S]*Examples:/],
    [['dead', 'retry'], /Usage: txbox dead retry[\s\S]*--id <messageId\.\.\.>[\s\S]*--all[\s\S]*--yes[\s\S]*Examples:/],
    [['dead', 'purge'], /Usage: txbox dead purge[\s\S]*--yes[\s\S]*Examples:/],
  ])('txbox %j --help explains the command with examples and exits 0', async (command, pattern) => {
    const result = await runCli([...command, '--help'], { env: NO_DB })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(pattern)
  })

  test('--version prints the package version', async () => {
    const result = await runCli(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe.concurrent('usage errors exit 2', () => {
  test.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /Usage: txbox/],
    [['relay', '--batch-size', 'many'], /--batch-size <n>.*expected an integer/],
    [['relay', '--log-format', 'xml'], /--log-format.*Allowed choices are pretty, json/],
    [['dead', 'retry'], /exactly one of --id <messageId\.\.\.>, --topic <topic> or --all/],
    [['dead', 'retry', '--id', 'a', '--all'], /exactly one of/],
    [['dead', 'retry', '--all'], /add --yes to confirm/],
    [['dead', 'purge', '--topic', 't'], /deletes the dead letters of topic "t" for good; add --yes/],
    [['status', '--schema', 'Bad-Name'], /--schema: schema "Bad-Name" is not a valid name/],
  ])('txbox %j', async (args, message) => {
    const result = await runCli(args, { env: DEAD_DB })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  test('a command needing the database without DATABASE_URL says how to give one', async () => {
    const result = await runCli(['status'], { env: NO_DB })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/set DATABASE_URL .* or pass --database-url/)
  })

  test('the relay without a broker URL says how to give one', async () => {
    const result = await runCli(['relay'], { env: DEAD_DB })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/set TXBOX_BROKER_URL .* or pass --broker-url/)
  })
})

describe.concurrent('an unreachable database', () => {
  test.each([[['migrate']], [['status']], [['dead', 'list']], [['dead', 'retry', '--id', 'x']]])(
    'txbox %j: one line naming the URL without its password, exit 1',
    async (args) => {
      const result = await runCli(args, { env: DEAD_DB })
      expect(result.code).toBe(1)
      expectOneLine(result.stderr)
      expect(result.stderr).toMatch(/^txbox: cannot connect to the database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/)
      expect(result.stderr + result.stdout).not.toContain('s3cret-pw')
    },
  )

  test('given with --database-url, the password is not printed either', async () => {
    const result = await runCli(['status', '--database-url', 'postgres://app:hunter2@127.0.0.1:1/app'])
    expect(result.code).toBe(1)
    expectOneLine(result.stderr)
    expect(result.stderr).toContain('postgres://app:***@127.0.0.1:1/app')
    expect(result.stderr).not.toContain('hunter2')
  })
})
