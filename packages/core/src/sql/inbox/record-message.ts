import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * record-message: records a message id in the inbox for a consumer, unless
 * it is there already (processOnce, before the handler runs).
 *
 * Parameters:
 *   consumer  text
 *   stored    text  the id as the inbox stores it (see inbox-record-id.ts)
 *   legacy    text  only in the `legacy` variant: the id as an older release
 *                   stored it; a record of it also counts
 * Returns: one row when recorded now, none when the id was already recorded.
 */
export function recordMessage(names: TableNames, params: { readonly consumer: string; readonly stored: string; readonly legacy: string | null }): Statement<unknown> {
  const inbox = names.quoted.inbox
  if (params.legacy === null) {
    return statement(
      names,
      'record-message',
      params,
      (p) => `INSERT INTO ${inbox} (consumer, message_id) VALUES (${p.consumer}, ${p.stored}) ON CONFLICT (consumer, message_id) DO NOTHING RETURNING 1`,
      'inbox',
    )
  }
  return statement(
    names,
    'record-message|legacy',
    params,
    (p) => `INSERT INTO ${inbox} (consumer, message_id)
SELECT ${p.consumer}, ${p.stored} WHERE NOT EXISTS (SELECT 1 FROM ${inbox} WHERE consumer = ${p.consumer} AND message_id = ${p.legacy})
ON CONFLICT (consumer, message_id) DO NOTHING RETURNING 1`,
    'inbox',
  )
}
