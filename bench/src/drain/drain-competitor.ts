import type { Kysely } from 'kysely'
import type pg from 'pg'
import type { BenchConfig } from '../support/config.js'
import type { Destination } from './destination.js'

/** One timed drain: `count` messages numbered from `from`, all of topic `topic`. */
export interface DrainRound {
  readonly index: number
  readonly topic: string
  readonly from: number
  readonly count: number
}

/**
 * Something that drains a backlog into a {@link Destination}: txbox's relay,
 * the bare loop, a job queue used as an outbox. A drain benchmark runs each
 * of its competitors in interleaved rounds: load (untimed), drain (timed),
 * then checks the destination holds exactly `count` messages.
 */
export interface DrainCompetitor {
  readonly name: string
  /** Its settings, one sentence for the notes. */
  readonly notes: string
  /** Once, before the first round: tables, schemas, clients. */
  setUp?(): Promise<void>
  /** Puts the round's messages where this competitor drains from, ready and vacuumed (untimed). */
  load(round: DrainRound): Promise<void>
  /** Sends every loaded message to the destination; resolves once the last is confirmed. The timed part. */
  drain(round: DrainRound): Promise<void>
  /** What was seen over all drains (how it used the broker), one sentence for the notes, if anything. */
  profile?(): string | undefined
  /** Once, after the last round (also after a failure): stops what setUp started. Schemas are dropped by the benchmark. */
  tearDown?(): Promise<void>
}

/** What a competitor is built from: the run's pool and destination, and a schema name of its own. */
export interface DrainContext {
  readonly config: BenchConfig
  readonly pool: pg.Pool
  readonly db: Kysely<any>
  readonly destination: Destination
  /** A schema for this competitor (`bench_<run>_<benchmark>_<what>`), dropped when the benchmark ends. */
  schema(what: string): string
}

/** Builds a competitor once the benchmark has opened its pool and destination. */
export type CompetitorFactory = (context: DrainContext) => DrainCompetitor
