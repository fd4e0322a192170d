/** Sorted copy; the inputs are small (rounds, or latency samples of one run). */
function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const s = sorted(values)
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo)
}

export const median = (values: readonly number[]): number => quantile(values, 0.5)

/** A median with the spread of the rounds it summarises. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length }
}

/**
 * Ratio of two competitors measured in the same rounds: the median of the
 * per-round ratios, so that a noisy round moves both sides together.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): Summary {
  const ratios = numerator.map((v, i) => v / (denominator[i] as number))
  return summarize(ratios)
}

/** "1,234 (1,100–1,300)": median and the range over rounds. */
export function formatSummary(s: Summary, digits = 0): string {
  if (s.n <= 1) return formatNumber(s.median, digits)
  return `${formatNumber(s.median, digits)} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value)
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** Rounds a figure for the JSON line. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
