import { InvalidOptionError } from '@txbox/core'

// Options are checked once, when the publisher or consumer is created, so a
// typo fails at startup with a message that says what to write instead.

/** setTimeout's limit (about 24.8 days): a longer delay fires at once. */
const MAX_TIMER_MS = 2_147_483_647

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

/** An integer from `min` to `max`, or `fallback` when not given. */
export function integer(where: string, name: string, value: unknown, fallback: number, min: number, max: number = MAX_TIMER_MS): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${where}: ${name} must be an integer from ${min} to ${max}, got ${String(value)}.`)
  }
  return value
}

export function nonEmptyString(where: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(name, `${where}: ${name} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}.`)
  }
  return value
}

/** A NATS connection as nats.js v3 makes it (checked by the methods txbox calls). */
export function natsConnection<C>(where: string, value: C): C {
  const c = value as { isClosed?: unknown; request?: unknown; getServer?: unknown } | null | undefined
  if (!c || typeof c.isClosed !== 'function' || typeof c.request !== 'function' || typeof c.getServer !== 'function') {
    throw new InvalidOptionError(
      'connection',
      `${where}: connection must be a NATS connection from nats.js v3 (\`await connect({ servers })\` of @nats-io/transport-node).`,
    )
  }
  return value
}
