import { Command } from 'commander'
import { describe, expect, test } from 'vitest'
import { addDatabaseOptions, tableNamesFor, tableOptionsOf } from '../../src/cli/common-options.js'
import { createProgram } from '../../src/cli/program.js'
import { addRelayOptionFlags, relayOptionsFromFlags } from '../../src/cli/relay-flags.js'
import { flagUsage } from '../../src/options/option-table.js'
import { RELAY_OPTIONS, resolveRelayOptions } from '../../src/relay/relay-options.js'

// `txbox relay`'s flags are generated from the relay's option declarations:
// each one must reach createRelay as the option it names (pure logic: the
// flags are parsed as the CLI parses them, then resolved as createRelay does).

const db = { executeQuery: () => {}, isTransaction: false }
const publisher = { publish: async () => [] }

/** The relay options (resolved) that `txbox relay <args>` would start its relay with. */
function relayFrom(args: readonly string[]) {
  const command = new Command('relay').exitOverride().configureOutput({ writeErr: () => {} })
  const flags = addRelayOptionFlags(command)
  addDatabaseOptions(command)
  command.parse(args, { from: 'user' })
  const given = relayOptionsFromFlags(command, flags)
  const names = tableNamesFor(command.opts())
  return { given, resolved: resolveRelayOptions({ ...given, ...tableOptionsOf(names), db, publisher } as never) }
}

describe('txbox relay: every relay option is a flag, and each flag reaches the relay', () => {
  test.each([
    [['--batch-size', '42'], 'batchSize', 42],
    [['--concurrency', '3'], 'concurrency', 3],
    [['--lanes-per-claim', '8'], 'lanesPerClaim', 8],
    [['--poll-interval', '250'], 'pollInterval', 250],
    [['--max-attempts', '4'], 'maxAttempts', 4],
    [['--publish-timeout', '5000'], 'publishTimeout', 5000],
    [['--no-block-key-on-failure'], 'blockKeyOnFailure', false],
  ] as const)('%s sets %s', (args, option, value) => {
    const { given, resolved } = relayFrom(args)
    expect(given).toEqual({ [option]: value })
    expect(resolved[option]).toBe(value)
  })

  test('the backoff flags set the backoff (each draw below its bound)', () => {
    const { given, resolved } = relayFrom(['--backoff-initial-delay', '10', '--backoff-max-delay', '40', '--backoff-multiplier', '3'])
    expect(given).toEqual({ backoff: { initialDelay: 10, maxDelay: 40, multiplier: 3 } })
    for (let i = 0; i < 200; i++) {
      expect(resolved.retryDelay(1)).toBeLessThan(10)
      expect(resolved.retryDelay(2)).toBeLessThan(30)
      expect(resolved.retryDelay(9)).toBeLessThan(40)
    }
  })

  test('the table flags set the tables', () => {
    const { resolved } = relayFrom(['--schema', 'events', '--outbox-table', 'orders', '--dead-table', 'orders_dead', '--inbox-table', 'orders_inbox'])
    expect(resolved.names).toMatchObject({ schema: 'events', outboxTable: 'orders', deadTable: 'orders_dead', inboxTable: 'orders_inbox' })
  })

  test('without flags, the relay takes its own defaults (none repeated in the CLI)', () => {
    const { given, resolved } = relayFrom([])
    expect(given).toEqual({})
    const defaults = resolveRelayOptions({ db, publisher } as never)
    expect({ ...resolved, retryDelay: undefined }).toEqual({ ...defaults, retryDelay: undefined })
  })

  test.each([
    ['--publish-timeout', '0'],
    ['--lanes-per-claim', '65'],
    ['--backoff-initial-delay', '0'],
    ['--backoff-multiplier', 'fast'],
  ])('%s %s is a usage error naming what is expected', (flag, value) => {
    expect(() => relayFrom([flag, value])).toThrow(/expected /)
  })

  test('--help lists a flag for every relay option marked for the CLI', () => {
    const relay = createProgram().commands.find((c) => c.name() === 'relay') as Command
    const help = relay.helpInformation()
    const expected: string[] = []
    for (const [name, declaration] of Object.entries(RELAY_OPTIONS)) {
      if (!declaration.cli) continue
      if ('fields' in declaration && declaration.fields) {
        for (const [field, nested] of Object.entries(declaration.fields)) expected.push(flagUsage([name, field], nested))
      } else expected.push(flagUsage([name], declaration))
    }
    expect(expected).toContain('--publish-timeout <ms>')
    expect(expected.filter((flag) => !help.includes(flag))).toEqual([])
  })
})
