import { type OptionDeclaration, Rejection } from './option-declaration.js'

// Builders for the usual kinds of option. Each returns a declaration whose
// value type says whether the option may be missing: given a `default` or
// `required: true`, the resolved value is always there; otherwise it may be
// undefined (the caller's code decides, e.g. a default computed from another option).

interface Common<T> {
  readonly description: string
  readonly default?: T
  readonly defaultText?: string
  readonly required?: boolean
  readonly cli?: boolean
  readonly hint?: string
}

/** `T`, or `T | undefined` when the option has neither a default nor `required: true`. */
export type Presence<S, T> = S extends { default: unknown } ? T : S extends { required: true } ? T : T | undefined

export interface IntegerSpec extends Common<number> {
  readonly min: number
  /** Default: Number.MAX_SAFE_INTEGER. */
  readonly max?: number
  /** 'ms', 'bytes': said in messages and docs. */
  readonly unit?: string
  /** Added to the "at most" message: why the bound is there ("about 24.8 days"). */
  readonly maxNote?: string
}

/** An integer in [min, max]. */
export function integer<const S extends IntegerSpec>(spec: S): OptionDeclaration<Presence<S, number>> {
  const { min, unit, maxNote } = spec
  const max = spec.max ?? Number.MAX_SAFE_INTEGER
  const unbounded = max === Number.MAX_SAFE_INTEGER
  const suffix = unit ? ` ${unit}` : ''
  const range = min === 1 ? `a positive integer${unbounded ? '' : ` up to ${max}${suffix}`}` : `an integer from ${min}${unbounded ? ' up' : ` to ${max}${suffix}`}`
  return {
    ...spec,
    type: 'integer',
    max: unbounded ? undefined : max,
    accept: (value) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) return new Rejection(range)
      if (value > max) return new Rejection(`at most ${max}${suffix}${maxNote ? ` (${maxNote})` : ''}`)
      return value
    },
  } as OptionDeclaration<Presence<S, number>>
}

export interface NumberSpec extends Common<number> {
  readonly min: number
  readonly max?: number
  readonly unit?: string
}

/** A finite number in [min, max] (fractions allowed). */
export function finiteNumber<const S extends NumberSpec>(spec: S): OptionDeclaration<Presence<S, number>> {
  const { min, max, unit } = spec
  const of = unit ? ` of ${unit}` : ''
  const expected = max === undefined ? `a finite number${of} ≥ ${min}` : `a number${of} from ${min} to ${max}`
  return {
    ...spec,
    type: 'number',
    accept: (value) =>
      typeof value === 'number' && Number.isFinite(value) && value >= min && (max === undefined || value <= max) ? value : new Rejection(expected),
  } as OptionDeclaration<Presence<S, number>>
}

/** true or false. */
export function boolean<const S extends Common<boolean>>(spec: S): OptionDeclaration<Presence<S, boolean>> {
  return {
    ...spec,
    type: 'boolean',
    accept: (value) => (typeof value === 'boolean' ? value : new Rejection('true or false')),
  } as OptionDeclaration<Presence<S, boolean>>
}

export interface TextSpec extends Common<string> {
  /** Whether '' is accepted. Default false. */
  readonly allowEmpty?: boolean
  /** Most UTF-8 bytes, and why (AMQP's limit). */
  readonly maxBytes?: number
  readonly maxBytesReason?: string
  /** What the text names, for messages: "the name of the queue to consume". */
  readonly expected?: string
}

/** A string (non-empty unless `allowEmpty`). */
export function text<const S extends TextSpec>(spec: S): OptionDeclaration<Presence<S, string>> {
  const expected = spec.expected ?? (spec.allowEmpty ? 'a string' : 'a non-empty string')
  return {
    ...spec,
    type: 'string',
    accept: (value) => {
      if (typeof value !== 'string' || (value === '' && !spec.allowEmpty)) return new Rejection(expected)
      if (spec.maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > spec.maxBytes) {
        return new Rejection(`at most ${spec.maxBytes} bytes of UTF-8${spec.maxBytesReason ? ` (${spec.maxBytesReason})` : ''}, not ${Buffer.byteLength(value, 'utf8')}`)
      }
      return value
    },
  } as OptionDeclaration<Presence<S, string>>
}

/** One of a few literal values. */
export function oneOf<const V extends string | boolean, const S extends Common<V>>(values: readonly V[], spec: S): OptionDeclaration<Presence<S, V>> {
  const shown = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  const expected = shown.length === 2 ? `${shown[0]} or ${shown[1]}` : `one of ${shown.join(', ')}`
  return {
    ...spec,
    type: shown.join(' | '),
    accept: (value) => (values.includes(value as V) ? (value as V) : new Rejection(expected)),
  } as OptionDeclaration<Presence<S, V>>
}

export interface FunctionSpec extends Common<any> {
  /** What the function must be, for messages and docs: "an async function (message) => void". */
  readonly expected: string
}

/** A function (callback, handler); its signature is described, not checked. */
export function callback<F extends (...args: any[]) => unknown>() {
  return <const S extends FunctionSpec>(spec: S): OptionDeclaration<Presence<S, F>> =>
    ({
      ...spec,
      type: 'function',
      accept: (value: unknown) => (typeof value === 'function' ? (value as F) : new Rejection(spec.expected)),
    }) as OptionDeclaration<Presence<S, F>>
}

export interface ShapeSpec<T> extends Common<T> {
  /** The type's name in the docs: `Kysely`, `Publisher`, `Logger`. */
  readonly type: string
  /** What the value must be, for messages: "a Kysely instance on your PostgreSQL database (…)". */
  readonly expected: string
  /** Recognises the value by the methods txbox calls (structurally: no library is imported). */
  readonly test: (value: unknown) => boolean
}

/** An object recognised by its shape: a client, a pool, a logger. */
export function shape<T>() {
  return <const S extends ShapeSpec<T>>(spec: S): OptionDeclaration<Presence<S, T>> =>
    ({
      ...spec,
      accept: (value: unknown) => (spec.test(value) ? (value as T) : new Rejection(spec.expected)),
    }) as unknown as OptionDeclaration<Presence<S, T>>
}

/** Whether `value` has a method of each name. */
export function hasMethods(value: unknown, ...names: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
}

/** A shared declaration (the logger, the db) with this function's default and description. */
export function adapt<T>(
  declaration: OptionDeclaration<T>,
  changes: { readonly default?: NonNullable<T>; readonly defaultText?: string; readonly description?: string },
): OptionDeclaration<NonNullable<T>> {
  return { ...declaration, ...changes } as OptionDeclaration<any>
}

/** setTimeout's limit (about 24.8 days): a longer delay fires at once. The bound of every option a timer waits for. */
export const MAX_TIMER_MS = 2_147_483_647

export interface TextOrFunctionSpec extends Common<never> {
  /** What the function receives and returns, for messages: "(message) => string". */
  readonly signature: string
}

/** A fixed non-empty string, or a function computing it (checked where it is called). */
export function textOrCallback<F extends (...args: any[]) => unknown>() {
  return <const S extends TextOrFunctionSpec>(spec: S): OptionDeclaration<Presence<S, string | F>> =>
    ({
      ...spec,
      type: `string | ${spec.signature}`,
      accept: (value: unknown) =>
        typeof value === 'function' || (typeof value === 'string' && value !== '')
          ? (value as string | F)
          : new Rejection(`a non-empty string or a function ${spec.signature}`),
    }) as OptionDeclaration<Presence<S, string | F>>
}
