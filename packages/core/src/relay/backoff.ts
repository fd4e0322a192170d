import { InvalidOptionError } from '../errors/invalid-option-error.js'

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

/**
 * "Full jitter" (a uniform draw between 0 and the exponential bound): retries
 * of messages that failed together spread out instead of hitting the broker
 * again in lockstep.
 */
export function exponentialBackoff(options: BackoffOptions = {}, random: () => number = Math.random): RetryDelay {
  const initial = positive('backoff.initialDelay', options.initialDelay ?? 1000)
  const max = positive('backoff.maxDelay', options.maxDelay ?? 300_000)
  const multiplier = options.multiplier ?? 2
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    throw new InvalidOptionError('backoff.multiplier', `backoff.multiplier must be a finite number ≥ 1, got ${String(multiplier)}.`)
  }
  return (attempts) => {
    const bound = Math.min(max, initial * multiplier ** Math.max(0, attempts - 1))
    return Math.floor(random() * bound)
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(name, `${name} must be a finite number of milliseconds ≥ 0, got ${String(value)}.`)
  }
  return value
}
