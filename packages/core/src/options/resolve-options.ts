import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { type OptionDeclaration, type OptionDeclarations, Rejection, type ResolvedOptions } from './option-declaration.js'

/**
 * Checks `options` against `declarations` and returns them resolved: every
 * given value checked, every missing one defaulted. Throws
 * InvalidOptionError, naming the option and saying what to write instead,
 * for a non-object, an unknown option (with the likely intended name), a
 * missing required option or a bad value. Options are checked in declaration order.
 *
 * `where` names the call in messages (`createRelay`); `prefix` names a nested
 * options object (`backoff.`).
 */
export function resolveOptions<D extends OptionDeclarations>(where: string, declarations: D, options: unknown, prefix = ''): ResolvedOptions<D> {
  rejectUnknownOptions(where, options, Object.keys(declarations), prefix)
  const given = options as Record<string, unknown>
  const resolved: Record<string, unknown> = {}
  for (const [name, declaration] of Object.entries(declarations)) resolved[name] = checkValue(where, prefix + name, declaration, given[name])
  return resolved as ResolvedOptions<D>
}

/**
 * Checks one value against its declaration: an option, or a positional
 * argument (`processOnce(db, messageId, handler)`). Returns it, or its
 * default when `undefined`; throws InvalidOptionError naming `name`.
 */
export function checkValue<T>(where: string, name: string, declaration: OptionDeclaration<T>, value: unknown): T {
  if (value === undefined) {
    if (declaration.required) throw invalid(where, name, declaration.accept(undefined), undefined, declaration.hint)
    return declaration.default as T
  }
  const accepted = declaration.accept(value)
  if (accepted instanceof Rejection) throw invalid(where, name, accepted, value, declaration.hint)
  return accepted
}

/** Throws InvalidOptionError unless `options` is an object whose every key is in `known` (typos fail loudly). */
export function rejectUnknownOptions(where: string, options: unknown, known: readonly string[], prefix = ''): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const name = prefix ? prefix.slice(0, -1) : 'options'
    throw new InvalidOptionError(name, `${where}: ${name} must be an object, got ${describeValue(options)}.`)
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const meant = closest(key, known)
    throw new InvalidOptionError(
      prefix + key,
      `${where}: unknown option "${prefix}${key}".${meant ? ` Did you mean "${prefix}${meant}"?` : ''} Known options${prefix ? ` of ${prefix.slice(0, -1)}` : ''}: ${known.join(', ')}.`,
    )
  }
}

/** The error for `name`: what it must be, and what it was. */
function invalid(where: string, name: string, rejection: unknown, value: unknown, hint: string | undefined): InvalidOptionError {
  const expected = rejection instanceof Rejection ? rejection.expected : 'given'
  return new InvalidOptionError(name, `${where}: ${name} must be ${expected}, got ${describeValue(value)}.${hint ? ` ${hint}` : ''}`)
}

/**
 * A value as a message shows it. Strings are quoted only when short and not a
 * URL: an option may hold a connection string with a password.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the option is required)'
  if (value === null) return 'null'
  if (value === '') return 'an empty string'
  if (typeof value === 'string') return value.length <= 40 && !value.includes('://') ? JSON.stringify(value) : `a string of ${value.length} characters`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  return typeof value === 'object' ? 'an object' : typeof value
}

/** The known name a typo most likely meant: same letters ignoring case, or at most two edits away. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const name of known) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name)
    if (distance < bestDistance) {
      best = name
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] as number
}
