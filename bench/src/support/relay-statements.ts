// The relay's own SQL statements that the bench measures, taken from the
// core's source (they are not part of its public API). Every reach into
// packages/core/src lives here, so that when the core exports its statements
// (one file per statement) only this file changes.
import { claimBatchParams, claimBatchSql } from '../../../packages/core/src/relay/claim-batch.js'
import { resolveTableNames } from '../../../packages/core/src/schema/table-names.js'

/** The claim's options as the relay resolves them (batch, lanes, timeouts). */
export type ClaimOptions = Parameters<typeof claimBatchParams>[1]

/** The relay's claim statement for the outbox in `schema`: its text, and its parameters for a lane rotation. */
export function claimStatement(schema: string, options: ClaimOptions): { readonly text: string; readonly table: string; params(rotation: number): unknown[] } {
  const names = resolveTableNames({ schema })
  return {
    text: claimBatchSql(names, options.blockKeyOnFailure),
    table: names.quoted.outbox,
    params: (rotation) => claimBatchParams(names, options, rotation),
  }
}
