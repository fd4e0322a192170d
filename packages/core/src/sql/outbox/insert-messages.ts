import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { availableAtExpression } from './available-at.js'

/**
 * insert-messages: records MANY messages in the caller's transaction, in one
 * statement, in the order given.
 *
 * Parameters (one element per message, paired by position):
 *   messageIds    text[]
 *   topics        text[]
 *   keys          text[]         null elements for unkeyed messages
 *   payloads      json           an array of the payloads (see jsonArray)
 *   headers       json           an array of the headers objects (null for none)
 *   delayMs       float8[]
 *   availableAt   timestamptz[]
 *   keyLockSpace  int            names.locks.keys
 *   channel       text           names.channel; only in the `notify` variant (NOTIFY inside the transaction)
 * Returns: no rows. A message id already in the outbox inserts nothing (ON CONFLICT DO NOTHING).
 *
 * Per-key commit order (see insert-message.ts): the keys' advisory locks are
 * an InitPlan, taken in hash order before the first row reaches the INSERT
 * (and so before any identity value is drawn).
 */
export function insertMessages(names: TableNames, notify: boolean, params: InsertMessagesParams): Statement<never> {
  return statement(names, notify ? 'insert-messages|notify' : 'insert-messages', params, (p) => {
    const notifyGate = notify ? ` AND (SELECT count(*) FROM pg_notify(${p.channel}, '')) >= 0` : ''
    return `INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers, available_at)
SELECT m.message_id, m.topic, m.key, m.payload::jsonb, NULLIF(m.headers::text, 'null')::jsonb, ${availableAtExpression('m.available_at', 'm.delay_ms')}
FROM ROWS FROM (unnest(${p.messageIds}::text[]), unnest(${p.topics}::text[]), unnest(${p.keys}::text[]), json_array_elements(${p.payloads}::json),
                json_array_elements(${p.headers}::json), unnest(${p.delayMs}::float8[]), unnest(${p.availableAt}::timestamptz[]))
  WITH ORDINALITY AS m(message_id, topic, key, payload, headers, delay_ms, available_at, ord)
WHERE (SELECT count(pg_advisory_xact_lock(${p.keyLockSpace}::int, k.h))
       FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(${p.keys}::text[]) AS k WHERE k IS NOT NULL ORDER BY 1) AS k) >= 0${notifyGate}
ORDER BY m.ord
ON CONFLICT (message_id) DO NOTHING`
  }, 'outbox')
}

export interface InsertMessagesParams {
  readonly messageIds: readonly string[]
  readonly topics: readonly string[]
  readonly keys: readonly (string | null)[]
  /** `[payload1,payload2,…]`: see jsonArray. */
  readonly payloads: string
  readonly headers: string
  readonly delayMs: readonly (number | null)[]
  readonly availableAt: readonly (Date | null)[]
  readonly keyLockSpace: number
  readonly channel: string
}

/**
 * Payloads and headers, each already JSON text, joined into one JSON array:
 * no escaping at all. As a text[] they were escaped by node-postgres (a
 * backslash before each quote, by a regular expression), which took 4 s and
 * 1 GB of memory for 16 MiB of quote-heavy JSON, and crashed the process out
 * of memory for 128 MiB; joined, the same take 0.2 s and 111 MB.
 */
export function jsonArray(texts: readonly string[]): string {
  return `[${texts.join(',')}]`
}
