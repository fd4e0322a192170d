import type { BenchConfig } from './config.js'
import type { ResultTable } from './table.js'

/** What a benchmark hands back: tables and notes for people, figures for the JSON line. */
export interface BenchmarkResult {
  readonly tables: ResultTable[]
  /** Settings used, explicit VACUUMs, what could not be measured and why. */
  readonly notes: string[]
  readonly figures: Record<string, number | string | null>
  /** Preformatted text (query plans), shown after the notes. */
  readonly details?: string[]
}

export interface Benchmark {
  readonly name: string
  readonly title: string
  run(config: BenchConfig, log: (line: string) => void): Promise<BenchmarkResult>
}
