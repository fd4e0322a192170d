import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * delete-dead-letters: deletes dead letters by id, for good (`txbox dead purge`).
 *
 * Parameters:
 *   ids  bigint[]  the dead table's ids (as lock-dead-letters returned them)
 * Returns: no rows.
 */
export function deleteDeadLetters(names: TableNames, params: { readonly ids: readonly string[] }): Statement<never> {
  return statement(names, 'delete-dead-letters', params, (p) => `DELETE FROM ${names.quoted.dead} WHERE id = ANY(${p.ids}::bigint[])`, 'dead')
}
