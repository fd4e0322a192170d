import type { Executor, SqlRows } from './executor.js'
import { pgExecutor } from './pg-executor.js'
import { postgresJsExecutor } from './postgres-js-executor.js'

/** Drizzle tags its classes with this symbol; its value is the class name. */
const ENTITY_KIND = Symbol.for('drizzle:entityKind')

/** The part of a Drizzle database or transaction txbox uses. */
interface DrizzleLike {
  /** Drizzle's session; `client` is the driver's handle (a pg client, or postgres.js's `sql`). */
  session?: { client?: object }
  transaction(fn: (tx: DrizzleLike) => Promise<unknown>): Promise<unknown>
}

/**
 * Drizzle on node-postgres or on postgres.js: the `tx` of
 * `db.transaction(async (tx) => …)`. Statements run on the driver's handle
 * behind the transaction (`tx.session.client`: the pool client inside BEGIN,
 * or postgres.js's transaction `sql`), so each driver's own executor applies,
 * with its own parameter handling (postgres.js returns a bare array of rows,
 * node-postgres a result with `rows`).
 */
export const drizzleExecutor: Executor = {
  name: 'Drizzle',
  recognises: (handle) => kindsOf(handle).includes('PgDatabase'),
  notInTransaction(handle) {
    if (!kindsOf(handle).includes('PgTransaction')) {
      return 'enqueueOnCommit was given the Drizzle database (db), not a transaction, so the message would commit on its own, whether or not your data does: pass the `tx` of db.transaction(async (tx) => { await enqueueOnCommit(tx, message) }), or use withTransaction(db, async (tx) => { … }).'
    }
    if (driverOf(handle) === undefined) {
      return 'enqueueOnCommit supports Drizzle on node-postgres (drizzle-orm/node-postgres) and on postgres.js (drizzle-orm/postgres-js); this Drizzle transaction runs on another driver.'
    }
    return undefined
  },
  run(handle, text, values): Promise<SqlRows> {
    const driver = driverOf(handle)
    if (!driver) throw new Error('txbox: this Drizzle handle runs on a driver txbox does not support (node-postgres or postgres.js).')
    return driver.executor.run(driver.client, text, values)
  },
  transaction: (client, fn) => (client as DrizzleLike).transaction(fn as (tx: DrizzleLike) => Promise<unknown>) as Promise<any>,
  savepoint: (tx, fn) => (tx as DrizzleLike).transaction(fn as (tx: DrizzleLike) => Promise<unknown>) as Promise<any>,
}

function driverOf(handle: object): { executor: Executor; client: object } | undefined {
  const client = (handle as DrizzleLike).session?.client
  if (typeof client !== 'object' && typeof client !== 'function') return undefined
  if (client === null) return undefined
  for (const executor of [postgresJsExecutor, pgExecutor]) if (executor.recognises(client)) return { executor, client }
  return undefined
}

/** The entity kinds of `handle`'s class and its ancestors ('NodePgTransaction', 'PgTransaction', 'PgDatabase'). */
function kindsOf(handle: object): string[] {
  const kinds: string[] = []
  for (let ctor = (handle as { constructor?: unknown }).constructor; typeof ctor === 'function'; ctor = Object.getPrototypeOf(ctor)) {
    const kind = (ctor as unknown as Record<symbol, unknown>)[ENTITY_KIND]
    if (typeof kind === 'string' && Object.hasOwn(ctor, ENTITY_KIND)) kinds.push(kind)
  }
  return kinds
}
