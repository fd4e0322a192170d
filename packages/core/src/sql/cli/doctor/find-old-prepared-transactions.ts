import { type Statement, statement } from '../../statement.js'

/**
 * find-old-prepared-transactions: this database's prepared transactions
 * older than a limit (a forgotten one pins the xmin horizon). `txbox doctor`.
 *
 * Parameters:
 *   maxAgeMs  float8  the limit
 * Returns: `{ gid, owner, open_ms }` per prepared transaction.
 */
export function findOldPreparedTransactions(params: { readonly maxAgeMs: number }): Statement<OldPreparedTransaction> {
  return statement(
    null,
    'doctor|find-old-prepared-transactions',
    params,
    (p) => `SELECT gid, owner, (extract(epoch FROM clock_timestamp() - prepared) * 1000)::float8 AS open_ms
FROM pg_prepared_xacts WHERE database = current_database() AND prepared < clock_timestamp() - make_interval(secs => ${p.maxAgeMs}::float8 / 1000)`,
  )
}

export interface OldPreparedTransaction {
  gid: string
  owner: string
  open_ms: number
}
