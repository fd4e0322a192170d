import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { BenchConfig } from './config.js'

/**
 * A small pool tagged with application_name `txbox-bench`, so that our
 * backends can be told apart from other sessions on the shared server.
 */
export function createPool(config: BenchConfig, max: number, schema?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max,
    application_name: `txbox-bench-${config.runId}`,
    ...(schema ? { options: `-c search_path=${schema},public` } : {}),
  })
  // An idle client's error (a server restart) must not crash the run.
  pool.on('error', (error) => console.error('[bench] idle pg client error:', error.message))
  pool.on('connect', (client) => client.on('error', (error) => console.error('[bench] pg client error:', error.message)))
  return pool
}

export function kyselyOn(pool: pg.Pool): Kysely<any> {
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
}

/** `bench_<runId>_<what>`: every schema this run creates, dropped at the end. */
export function schemaName(config: BenchConfig, what: string): string {
  return `bench_${config.runId}_${what}`
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

/**
 * Autovacuum is off on the bench server: a queue table that was filled and
 * drained is full of dead tuples until vacuumed. Benchmarks call this between
 * rounds where a measurement needs a clean table, and say so in their notes.
 */
export async function vacuum(pool: pg.Pool, table: string, analyze = true): Promise<void> {
  await pool.query(`VACUUM ${analyze ? '(ANALYZE) ' : ''}${table}`)
}

export interface RelationSizes {
  readonly tableBytes: number
  readonly indexBytes: number
  readonly liveTuples: number
  readonly deadTuples: number
}

/** Heap (with TOAST) and index bytes of a table, and its live/dead tuple counts. */
export async function relationSizes(pool: pg.Pool, table: string): Promise<RelationSizes> {
  const { rows } = await pool.query(
    `SELECT pg_table_size($1::regclass)::float8 AS t, pg_indexes_size($1::regclass)::float8 AS i,
            coalesce(s.n_live_tup, 0)::float8 AS live, coalesce(s.n_dead_tup, 0)::float8 AS dead
     FROM (SELECT 1) x LEFT JOIN pg_stat_user_tables s ON s.relid = $1::regclass`,
    [table],
  )
  const r = rows[0]
  return { tableBytes: r.t, indexBytes: r.i, liveTuples: r.live, deadTuples: r.dead }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
