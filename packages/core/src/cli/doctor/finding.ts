import type { Kysely } from 'kysely'
import type pg from 'pg'
import type { TableNames } from '../../schema/table-names.js'

/** How a check came out: `problem` fails `txbox doctor` (exit 1); `warning` fails it only with `--strict`. */
export type FindingStatus = 'ok' | 'warning' | 'problem' | 'skipped'

/** One thing `txbox doctor` found, and what to do about it. */
export interface Finding {
  /** The check's name (`schema`, `autovacuum`, `xmin-horizon`, `listen`, `timeouts`, `backlog`), as `--skip` takes it. */
  readonly check: string
  readonly status: FindingStatus
  /** What was found, in one sentence. */
  readonly summary: string
  /** What to do; present unless the status is `ok`. */
  readonly advice?: string
  /** The facts behind it (sessions, settings, counts), for `--json`. */
  readonly details?: unknown
}

/** What every check gets: the database, the outbox's names and the thresholds from the flags. */
export interface DoctorContext {
  readonly db: Kysely<any>
  readonly pool: pg.Pool
  readonly names: TableNames
  /** The relay's publishTimeout the settings are compared with, in ms. */
  readonly publishTimeoutMs: number
  /** A transaction open longer than this pins the xmin horizon for too long, in ms. */
  readonly maxTransactionAgeMs: number
  /** The outbox lag above which messages are late, in ms. */
  readonly maxLagMs: number
  /** How long a NOTIFY may take to reach LISTEN, in ms. */
  readonly listenTimeoutMs: number
}

/** A doctor check: resolves to its findings (one or more). */
export type DoctorCheck = (context: DoctorContext) => Promise<Finding[]>

export function finding(check: string, status: FindingStatus, summary: string, advice?: string, details?: unknown): Finding {
  return { check, status, summary, ...(advice === undefined ? {} : { advice }), ...(details === undefined ? {} : { details }) }
}
