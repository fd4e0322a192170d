import type { TableNames } from '../schema/table-names.js'
import { runSql, type SqlRunner } from '../sql-executor.js'
import type { ClaimedRow } from './claimed-row.js'

/** What becomes of a claimed message that was not confirmed. */
export type Unconfirmed =
  | { readonly kind: 'retry'; readonly row: ClaimedRow; readonly error: string; readonly cause: Error; readonly retryInMs: number }
  | { readonly kind: 'dead'; readonly row: ClaimedRow; readonly error: string; readonly cause: Error }
  /**
   * Not sent: an earlier message of its key failed in this batch. Put back as
   * it was, or held back (see hold-back.ts) when its key's head waits for a retry.
   */
  | { readonly kind: 'unattempted'; readonly row: ClaimedRow; readonly heldBack: boolean }
  /**
   * Not delivered because the broker was not reached (a transport failure):
   * put back as it was, without an attempt, with the error as its last.
   */
  | { readonly kind: 'unreached'; readonly row: ClaimedRow; readonly error: string; readonly cause: Error }

const statements = new Map<string, string>()

/**
 * Puts the batch's unconfirmed messages back, in the claim's transaction, in
 * one statement: retries and unattempted messages return to the outbox with
 * their id (so their place in their key's order), dead ones go to the dead
 * letters. Confirmed messages stay deleted, so they are not sent twice.
 *
 * The retry delay counts from now (`clock_timestamp()`), not from the claim:
 * after a long publish timeout, `now()` (the transaction's start) is already
 * far in the past. A dead letter whose id is already in the dead table fails
 * the statement (and so the batch, which stays in the outbox) rather than
 * being dropped.
 */
export function settleFailuresSql(names: TableNames): string {
  const cached = statements.get(names.quoted.outbox)
  if (cached) return cached
  const text = `WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
                       $9::float8[], $10::timestamptz[], $11::timestamptz[], $12::bool[])
    AS t(id, message_id, topic, key, payload, headers, attempts, last_error, retry_in_ms, available_at, created_at, dead)
),
dead AS (
  INSERT INTO ${names.quoted.dead} (id, message_id, topic, key, payload, headers, attempts, last_error, created_at)
  SELECT id, message_id, topic, key, payload::jsonb, headers::jsonb, attempts, last_error, created_at FROM input WHERE dead
  RETURNING 1
)
INSERT INTO ${names.quoted.outbox} (id, message_id, topic, key, payload, headers, attempts, last_error, available_at, created_at)
SELECT id, message_id, topic, key, payload::jsonb, headers::jsonb, attempts, last_error,
       CASE WHEN retry_in_ms IS NULL THEN available_at ELSE clock_timestamp() + retry_in_ms * interval '1 millisecond' END,
       created_at
FROM input WHERE NOT dead`
  statements.set(names.quoted.outbox, text)
  return text
}

export async function settleFailures(trx: SqlRunner, names: TableNames, items: readonly Unconfirmed[]): Promise<void> {
  if (items.length === 0) return
  const col = <T>(f: (u: Unconfirmed) => T) => items.map(f)
  await runSql(trx, settleFailuresSql(names), [
    col((u) => u.row.message.id),
    col((u) => u.row.message.messageId),
    col((u) => u.row.message.topic),
    col((u) => u.row.message.key),
    col((u) => u.row.message.payload),
    col((u) => u.row.headersText),
    col((u) => (u.kind === 'unattempted' || u.kind === 'unreached' ? u.row.message.attempts : u.row.message.attempts + 1)),
    col((u) => (u.kind === 'unattempted' ? u.row.lastError : truncate(u.error))),
    col((u) => (u.kind === 'retry' ? u.retryInMs : null)),
    col((u) => (u.kind === 'unattempted' && u.heldBack ? 'infinity' : u.row.availableAt)),
    col((u) => u.row.message.createdAt),
    col((u) => u.kind === 'dead'),
  ])
}

function truncate(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}
