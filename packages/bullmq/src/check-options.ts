import { InvalidOptionError } from '@txbox/core'

// Options are checked once, when the publisher is created, so a typo fails at
// startup with a message that says what to write instead.

export function rejectUnknownOptions(where: string, options: unknown, allowed: readonly string[]): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `${where}: options must be an object, got ${options === null ? 'null' : typeof options}.`)
  }
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) {
      throw new InvalidOptionError(name, `${where}: unknown option "${name}". Known options: ${allowed.join(', ')}.`)
    }
  }
}

export function nonEmptyString(where: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(name, `${where}: ${name} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}.`)
  }
  return value
}

/** A fixed string, or a function of the message (checked when called). */
export function stringOrFunction<F extends (...args: any[]) => unknown>(where: string, name: string, value: unknown): string | F | undefined {
  if (value === undefined || typeof value === 'function') return value as F | undefined
  return nonEmptyString(where, name, value)
}
