import { InvalidIdentifierError, InvalidOptionError } from '@txbox/core'
import { boolean, callback, finiteNumber, integer, oneOf, resolveOptions, shape, text, textOrCallback } from '@txbox/core/adapter'
import { describe, expect, test } from 'vitest'
import { exponentialBackoff } from '../../src/relay/backoff.js'
import { resolveRelayOptions } from '../../src/relay/relay-options.js'

// The one resolver every txbox function and adapter checks its options with (pure logic).

const DECLARED = {
  size: integer({ min: 1, max: 100, default: 10, description: 'How many.' }),
  wait: integer({ min: 1, max: 2_147_483_647, unit: 'ms', maxNote: 'about 24.8 days', description: 'How long.' }),
  ratio: finiteNumber({ min: 1, default: 2, description: 'Growth.' }),
  strict: boolean({ default: true, description: 'Whether.' }),
  name: text({ required: true, description: 'Who.' }),
  mode: oneOf(['fast', 'safe'] as const, { default: 'safe', description: 'How.' }),
  handler: callback<() => void>()({ expected: 'a function () => void', description: 'What.' }),
  client: shape<{ call(): void }>()({ type: 'Client', expected: 'a client with call()', description: 'Where.', test: (v) => typeof (v as { call?: unknown })?.call === 'function' }),
  route: textOrCallback<() => string>()({ signature: '() => string', description: 'Where to.' }),
}

/** The InvalidOptionError `call` throws. */
function refusal(call: () => unknown): InvalidOptionError {
  try {
    call()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION')
    return error as InvalidOptionError
  }
  throw new Error('expected an InvalidOptionError, got none')
}

const resolve = (options: unknown) => resolveOptions('makeThing', DECLARED, options)

describe('resolveOptions: one declaration, one check', () => {
  test('fills in the defaults, keeps what was given, leaves optional options out', () => {
    expect(resolve({ name: 'a' })).toEqual({
      size: 10,
      wait: undefined,
      ratio: 2,
      strict: true,
      name: 'a',
      mode: 'safe',
      handler: undefined,
      client: undefined,
      route: undefined,
    })
    const handler = () => {}
    expect(resolve({ name: 'a', size: 100, strict: false, mode: 'fast', handler, route: 'r' })).toMatchObject({ size: 100, strict: false, mode: 'fast', handler, route: 'r' })
  })

  test.each([
    ['options not an object', null, 'options', /makeThing: options must be an object, got null\./],
    ['options an array', [], 'options', /options must be an object, got an array/],
    ['an unknown option, with the likely intended one', { name: 'a', sise: 5 }, 'sise', /unknown option "sise"\. Did you mean "size"\? Known options: size, wait, /],
    ['an unknown option in another case', { name: 'a', SIZE: 5 }, 'SIZE', /Did you mean "size"\?/],
    ['a required option missing', {}, 'name', /makeThing: name must be a non-empty string, got nothing \(the option is required\)\./],
    ['an integer below its range', { name: 'a', size: 0 }, 'size', /size must be a positive integer up to 100, got 0\./],
    ['an integer above its range', { name: 'a', size: 101 }, 'size', /size must be at most 100, got 101\./],
    ['a fraction for an integer', { name: 'a', size: 1.5 }, 'size', /size must be a positive integer up to 100, got 1\.5/],
    ['NaN for an integer', { name: 'a', size: Number.NaN }, 'size', /got NaN/],
    ['a numeric string for an integer', { name: 'a', size: '5' }, 'size', /size must be a positive integer up to 100, got "5"/],
    ['a duration past what a timer can wait', { name: 'a', wait: 2 ** 31 }, 'wait', /wait must be at most 2147483647 ms \(about 24\.8 days\)/],
    ['Infinity for a number', { name: 'a', ratio: Number.POSITIVE_INFINITY }, 'ratio', /ratio must be a finite number ≥ 1, got Infinity/],
    ['a string for a boolean', { name: 'a', strict: 'yes' }, 'strict', /strict must be true or false, got "yes"/],
    ['an empty string', { name: '' }, 'name', /name must be a non-empty string, got an empty string/],
    ['a value outside the choices', { name: 'a', mode: 'quick' }, 'mode', /mode must be 'fast' or 'safe', got "quick"/],
    ['a string for a function', { name: 'a', handler: 'run' }, 'handler', /handler must be a function \(\) => void, got "run"/],
    ['an object without the methods', { name: 'a', client: {} }, 'client', /client must be a client with call\(\), got an object/],
    ['an empty string for a name or function', { name: 'a', route: '' }, 'route', /route must be a non-empty string or a function \(\) => string/],
  ])('%s: InvalidOptionError naming the option, saying what it must be', (_, options, option, message) => {
    const error = refusal(() => resolve(options))
    expect(error.option).toBe(option)
    expect(error.message).toMatch(message)
  })

  test('a URL is not echoed in a message (it may hold a password)', () => {
    const error = refusal(() => resolve({ name: 'a', size: 'amqp://user:secret@host' }))
    expect(error.message).not.toContain('secret')
  })
})

describe('the relay options, resolved by the same resolver', () => {
  const db = { executeQuery: () => {}, isTransaction: false }
  const publisher = { publish: async () => [] }

  test('backoff delays of 0 are refused (0 would retry a failing message at once, forever)', () => {
    expect(refusal(() => exponentialBackoff({ initialDelay: 0 })).option).toBe('backoff.initialDelay')
    expect(refusal(() => exponentialBackoff({ maxDelay: 0 })).option).toBe('backoff.maxDelay')
    expect(refusal(() => resolveRelayOptions({ db, publisher, backoff: { initialDelay: 0 } } as never)).message).toMatch(
      /createRelay: backoff\.initialDelay must be a number of ms from 1 to/,
    )
  })

  test('a maxDelay below initialDelay says which to change', () => {
    const error = refusal(() => exponentialBackoff({ initialDelay: 600_000 }))
    expect(error.option).toBe('backoff.maxDelay')
    expect(error.message).toMatch(/raise maxDelay or lower initialDelay/)
  })

  test('an unknown backoff option names its path', () => {
    expect(refusal(() => resolveRelayOptions({ db, publisher, backoff: { initialDelai: 5 } } as never)).message).toMatch(
      /unknown option "backoff\.initialDelai"\. Did you mean "backoff\.initialDelay"\?/,
    )
  })

  test('a bad table name stays an InvalidIdentifierError', () => {
    expect(() => resolveRelayOptions({ db, publisher, outboxTable: 'Bad-Name' } as never)).toThrow(InvalidIdentifierError)
  })

  test('db is recognised in one place, for every function that takes one', () => {
    expect(refusal(() => resolveRelayOptions({ db: {}, publisher } as never)).message).toMatch(/createRelay: db must be a Kysely instance on your PostgreSQL database/)
  })
})
