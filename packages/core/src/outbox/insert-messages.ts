import type { TableNames } from '../schema/table-names.js'
import type { ValidatedMessage } from './message.js'

/** How the relay hears about new messages; see enqueueOnCommit's `notify` option. */
export type NotifyMode = 'after-commit' | 'in-transaction' | false

const AVAILABLE_AT = (at: string, delay: string) =>
  `CASE WHEN ${at} > statement_timestamp() THEN ${at} WHEN ${delay} > 0 THEN statement_timestamp() + ${delay} * interval '1 millisecond' END`

const statements = new Map<string, string>()

/**
 * The INSERT for one message or many, as one statement.
 *
 * Per-key commit order: before a keyed row takes its id, the statement takes a
 * transaction-scoped advisory lock on the key's hash. A second transaction
 * writing the same key waits at its INSERT until the first one ends, so ids of
 * one key are taken in commit order, and the relay's id order is commit order.
 * The lock is an InitPlan, evaluated before the first row reaches the INSERT
 * (and so before any identity value is drawn).
 */
export function insertMessagesSql(names: TableNames, count: 'one' | 'many', notify: boolean): string {
  const cacheKey = `${names.quoted.outbox}|${count}|${notify}`
  let text = statements.get(cacheKey)
  if (text) return text
  const notifyGate = notify ? ` AND (SELECT count(*) FROM pg_notify($9, '')) >= 0` : ''
  if (count === 'one') {
    text = `INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers, available_at)
SELECT $1::text, $2::text, $3::text, $4::text::jsonb, $5::text::jsonb, ${AVAILABLE_AT('$7::timestamptz', '$6::float8')}
WHERE (SELECT count(*) FROM pg_advisory_xact_lock($8::int, hashtext($3::text)) WHERE $3::text IS NOT NULL) >= 0${notifyGate}
ON CONFLICT (message_id) DO NOTHING`
  } else {
    text = `INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers, available_at)
SELECT m.message_id, m.topic, m.key, m.payload::jsonb, m.headers::jsonb, ${AVAILABLE_AT('m.available_at', 'm.delay_ms')}
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::timestamptz[])
  WITH ORDINALITY AS m(message_id, topic, key, payload, headers, delay_ms, available_at, ord)
WHERE (SELECT count(pg_advisory_xact_lock($8::int, k.h))
       FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($3::text[]) AS k WHERE k IS NOT NULL ORDER BY 1) AS k) >= 0${notifyGate}
ORDER BY m.ord
ON CONFLICT (message_id) DO NOTHING`
  }
  statements.set(cacheKey, text)
  return text
}

/** The parameters for {@link insertMessagesSql}. */
export function insertMessagesParams(names: TableNames, messages: readonly ValidatedMessage[], notify: boolean): unknown[] {
  const params: unknown[] =
    messages.length === 1
      ? (() => {
          const m = messages[0] as ValidatedMessage
          return [m.messageId, m.topic, m.key, m.payload, m.headers, m.delayMs, m.availableAt, names.locks.keys]
        })()
      : [
          messages.map((m) => m.messageId),
          messages.map((m) => m.topic),
          messages.map((m) => m.key),
          messages.map((m) => m.payload),
          messages.map((m) => m.headers),
          messages.map((m) => m.delayMs),
          messages.map((m) => m.availableAt),
          names.locks.keys,
        ]
  if (notify) params.push(names.channel)
  return params
}
