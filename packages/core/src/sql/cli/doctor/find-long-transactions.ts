import { type Statement, statement } from '../../statement.js'

/**
 * find-long-transactions: this database's sessions whose transaction has
 * been open longer than a limit and holds a snapshot or an xid (they pin the
 * xmin horizon: VACUUM cannot remove the outbox's deleted rows). `txbox doctor`.
 *
 * Parameters:
 *   maxAgeMs  float8  the limit
 * Returns: one {@link LongTransaction} per session, oldest first.
 */
export function findLongTransactions(params: { readonly maxAgeMs: number }): Statement<LongTransaction> {
  return statement(
    null,
    'doctor|find-long-transactions',
    params,
    (p) => `SELECT pid, usename, application_name, client_addr::text, state,
       (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS open_ms,
       greatest(age(backend_xmin), age(backend_xid)) AS xmin_age, left(query, 200) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)
  AND xact_start < clock_timestamp() - make_interval(secs => ${p.maxAgeMs}::float8 / 1000)
ORDER BY xact_start`,
  )
}

export interface LongTransaction {
  pid: number
  usename: string | null
  application_name: string
  client_addr: string | null
  state: string | null
  open_ms: number
  xmin_age: number | null
  query: string | null
}
