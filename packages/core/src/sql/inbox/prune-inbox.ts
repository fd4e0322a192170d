import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * prune-inbox: deletes inbox records processed before a cutoff.
 *
 * Parameters:
 *   olderThan  a Date (as ISO text, cast to timestamptz), or an age in ms (float8) in the `age` variant
 *   consumer   text or null (every consumer)
 * Returns: one row, `{ deleted }`, the count as text.
 */
export function pruneInbox(
  names: TableNames,
  params: { readonly olderThan: string | number; readonly consumer: string | null },
): Statement<{ deleted: string }> {
  const age = typeof params.olderThan === 'number'
  return statement(names, age ? 'prune-inbox|age' : 'prune-inbox', params, (p) => {
    const cutoff = age ? `statement_timestamp() - ${p.olderThan}::float8 * interval '1 millisecond'` : `${p.olderThan}::timestamptz`
    return `WITH deleted AS (
  DELETE FROM ${names.quoted.inbox}
  WHERE processed_at < ${cutoff} AND (${p.consumer}::text IS NULL OR consumer = ${p.consumer}::text)
  RETURNING 1
)
SELECT count(*) AS deleted FROM deleted`
  }, 'inbox')
}
