import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { type OptionDeclaration, Rejection } from '../options/option-declaration.js'
import { finiteNumber } from '../options/option-kinds.js'
import { resolveOptions } from '../options/resolve-options.js'

/** Retry delays: exponential, capped, with full jitter. */
export interface BackoffOptions {
  /** Upper bound of the first retry's delay, in ms. Default 1000. */
  initialDelay?: number
  /** Cap of the delay, in ms. Default 300000 (5 minutes). */
  maxDelay?: number
  /** Growth per attempt. Default 2. */
  multiplier?: number
}

/** Milliseconds to wait before the next try, given the attempts made so far (≥ 1). */
export type RetryDelay = (attempts: number) => number

/** A year: a longer delay is surely a unit mistake (seconds for ms?), and would push retry times past what a Date holds. */
const MAX_DELAY_MS = 365 * 24 * 3600_000

/**
 * The options of {@link exponentialBackoff}. The delays are at least 1 ms: 0
 * would retry a failing message at once, forever, in a hot loop against a
 * broker that is failing (give `backoff: () => 0` if you really mean that).
 */
export const BACKOFF_OPTIONS = {
  initialDelay: finiteNumber({ min: 1, max: MAX_DELAY_MS, unit: 'ms', default: 1000, cli: true, description: "Upper bound of the first retry's delay." }),
  maxDelay: finiteNumber({ min: 1, max: MAX_DELAY_MS, unit: 'ms', default: 300_000, cli: true, description: 'Cap of the delay between retries.' }),
  multiplier: finiteNumber({ min: 1, max: 1000, default: 2, cli: true, description: 'Growth of the delay per attempt.' }),
} as const satisfies Record<keyof BackoffOptions, OptionDeclaration<number>>

/**
 * "Full jitter" (a uniform draw between 0 and the exponential bound): retries
 * of messages that failed together spread out instead of hitting the broker
 * again in lockstep.
 */
export function exponentialBackoff(options: BackoffOptions = {}, random: () => number = Math.random): RetryDelay {
  const { initialDelay: initial, maxDelay: max, multiplier } = resolveOptions('createRelay', BACKOFF_OPTIONS, options, 'backoff.')
  if (max < initial) {
    throw new InvalidOptionError('backoff.maxDelay', `createRelay: backoff.maxDelay (${max} ms) must be at least backoff.initialDelay (${initial} ms); raise maxDelay or lower initialDelay.`)
  }
  return (attempts) => {
    const bound = Math.min(max, initial * multiplier ** Math.max(0, attempts - 1))
    return Math.floor(random() * bound)
  }
}

/** The relay's `backoff` option: exponential backoff's options, or your own delay function. */
export const backoffOption: OptionDeclaration<RetryDelay> = {
  type: 'BackoffOptions | (attempts) => ms',
  description: 'Delay before each retry: exponential with full jitter (its options below), or your own function of the attempts made.',
  defaultText: '1 s ×2 up to 5 min, full jitter',
  default: exponentialBackoff(),
  fields: BACKOFF_OPTIONS,
  cli: true,
  accept: (value) => {
    if (typeof value === 'function') return value as RetryDelay
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return exponentialBackoff(value)
    return new Rejection('{ initialDelay, maxDelay, multiplier } (each optional) or a function (attempts) => ms')
  },
}
