// The relay's own SQL statement that the bench measures, imported from the
// core's source (statements are not part of its public API): the statement
// itself, one file of packages/core/src/sql/, built from its named
// parameters, never parsed or counted here.
import { resolveTableNames } from '../../../packages/core/src/schema/table-names.js'
import { deleteBatch, type DeleteBatchParams } from '../../../packages/core/src/sql/relay/delete-batch.js'

/** The take's options as the relay resolves them (batch, lanes, timeouts). */
export interface ClaimOptions {
  readonly batchSize: number
  readonly perLane: number
  readonly lanesPerClaim: number
  readonly blockKeyOnFailure: boolean
  readonly idleTimeoutMs: number
  readonly statementTimeoutMs: number
}

/** The relay's take (delete-batch) for the outbox in `schema`: its text, and its values for a lane rotation. */
export function claimStatement(schema: string, options: ClaimOptions): { readonly text: string; readonly table: string; params(rotation: number): unknown[] } {
  const names = resolveTableNames({ schema })
  const params = (rotation: number): DeleteBatchParams => ({
    rotation,
    laneLockSpace: names.locks.lanes,
    lanesPerClaim: options.lanesPerClaim,
    batchSize: options.batchSize,
    perLane: options.perLane,
    idleTimeout: `${options.idleTimeoutMs}ms`,
    statementTimeout: `${options.statementTimeoutMs}ms`,
  })
  return {
    text: deleteBatch(names, options.blockKeyOnFailure, params(0)).text,
    table: names.quoted.outbox,
    params: (rotation) => [...deleteBatch(names, options.blockKeyOnFailure, params(rotation)).values],
  }
}
