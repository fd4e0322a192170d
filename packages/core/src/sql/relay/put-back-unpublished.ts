import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * put-back-unpublished: writes back, in the relay's transaction, the taken
 * messages that were not published (delete-batch deleted them). Those to retry
 * or held back return to the outbox with their id (so their place in their
 * key's order); dead ones go to the dead letters. Published messages stay
 * deleted, so they are not sent twice.
 *
 * Parameters (arrays, one element per message, paired by position):
 *   ids           bigint[]       the outbox ids
 *   messageIds    text[]
 *   topics        text[]
 *   keys          text[]
 *   payloads      text[]         JSON text
 *   headers       text[]         JSON text or null, as read
 *   attempts      int[]          the attempts to store
 *   lastErrors    text[]
 *   retryInMs     float8[]       a retry's delay from now; null: keep `availableAt`
 *   availableAt   timestamptz[]  used when retryInMs is null ('infinity': held back)
 *   createdAt     timestamptz[]
 *   dead          bool[]         to the dead letters instead
 * Returns: no rows.
 *
 * The retry delay counts from now (`clock_timestamp()`), not from the claim:
 * after a long publish timeout, `now()` (the transaction's start) is already
 * far in the past. A dead letter whose id is already in the dead table fails
 * the statement (and so the batch, which stays in the outbox) rather than
 * being dropped.
 */
export function putBackUnpublished(names: TableNames, params: PutBackParams): Statement<never> {
  return statement(
    names,
    'put-back-unpublished',
    params,
    (p) => `WITH input AS (
  SELECT * FROM unnest(${p.ids}::bigint[], ${p.messageIds}::text[], ${p.topics}::text[], ${p.keys}::text[], ${p.payloads}::text[],
                       ${p.headers}::text[], ${p.attempts}::int[], ${p.lastErrors}::text[], ${p.retryInMs}::float8[],
                       ${p.availableAt}::timestamptz[], ${p.createdAt}::timestamptz[], ${p.dead}::bool[])
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
FROM input WHERE NOT dead`,
    'dead',
  )
}

export interface PutBackParams {
  readonly ids: readonly string[]
  readonly messageIds: readonly string[]
  readonly topics: readonly string[]
  readonly keys: readonly (string | null)[]
  readonly payloads: readonly string[]
  readonly headers: readonly (string | null)[]
  readonly attempts: readonly number[]
  readonly lastErrors: readonly (string | null)[]
  readonly retryInMs: readonly (number | null)[]
  readonly availableAt: readonly (Date | string | null)[]
  readonly createdAt: readonly Date[]
  readonly dead: readonly boolean[]
}
