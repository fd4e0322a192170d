import { InvalidOptionError } from '@txbox/core'

// Options are checked once, when the publisher or consumer is created, so a
// typo fails at startup with a message that says what to write instead.

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

export function positiveInteger(where: string, name: string, value: unknown, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(name, `${where}: ${name} must be a positive integer, got ${String(value)}.`)
  }
  return value
}

export function nonEmptyString(where: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(name, `${where}: ${name} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}.`)
  }
  return value
}
