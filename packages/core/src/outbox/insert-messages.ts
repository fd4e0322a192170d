import type { TableNames } from '../schema/table-names.js'
import type { ValidatedMessage } from './message.js'

/** How the relay hears about new messages; see enqueueOnCommit's `notify` option. */
export type NotifyMode = 'after-commit' | 'in-transaction' | false

const AVAILABLE_AT = (at: string, delay: string) =>
  `CASE WHEN ${at} > statement_timestamp() THEN ${at} WHEN ${delay} > 0 THEN statement_timestamp() + ${delay} * interval '1 millisecond' END`

const statements = new Map<string, string>()

function cached(key: string, build: () => string): string {
  let text = statements.get(key)
  if (!text) {
    text = build()
    statements.set(key, text)
  }
  return text
}

/**
 * The INSERT for one message or many, as one statement, with its parameters.
 *
 * Per-key commit order: before a keyed row takes its id, the statement takes a
 * transaction-scoped advisory lock on the key's hash. A second transaction
 * writing the same key waits at its INSERT until the first one ends, so ids of
 * one key are taken in commit order, and the relay's id order is commit order.
 * For one row the lock is the FROM item, evaluated before the row exists; for
 * many, an InitPlan evaluated before the first row reaches the INSERT (and so
 * before any identity value is drawn).
 *
 * A single message, the common case, gets the simplest statement that fits
 * it (no key lock without a key, no schedule without a delay): planning is a
 * noticeable share of an INSERT this small.
 */
export function insertMessages(
  names: TableNames,
  messages: readonly ValidatedMessage[],
  notify: boolean,
): { text: string; values: unknown[] } {
  const o = names.quoted.outbox
  if (messages.length === 1) {
    const m = messages[0] as ValidatedMessage
    const scheduled = m.delayMs !== null || m.availableAt !== null
    const keyed = m.key !== null
    const values: unknown[] = [m.messageId, m.topic, m.key, m.payload, m.headers]
    const param = (value: unknown, cast: string) => {
      values.push(value)
      return `$${values.length}::${cast}`
    }
    const availableAt = scheduled ? AVAILABLE_AT(param(m.availableAt, 'timestamptz'), param(m.delayMs, 'float8')) : ''
    const from: string[] = []
    if (keyed) from.push(`pg_advisory_xact_lock(${param(names.locks.keys, 'int')}, hashtext($3::text))`)
    if (notify) from.push(`pg_notify(${param(names.channel, 'text')}, '')`)
    const text = cached(`${o}|one|${keyed}|${scheduled}|${notify}`, () => {
      return `INSERT INTO ${o} (message_id, topic, key, payload, headers${scheduled ? ', available_at' : ''})
SELECT $1::text, $2::text, $3::text, $4::text::jsonb, $5::text::jsonb${scheduled ? `, ${availableAt}` : ''}${from.length ? `\nFROM ${from.join(', ')}` : ''}
ON CONFLICT (message_id) DO NOTHING`
    })
    return { text, values }
  }
  const text = cached(`${o}|many|${notify}`, () => {
    const notifyGate = notify ? ` AND (SELECT count(*) FROM pg_notify($9, '')) >= 0` : ''
    return `INSERT INTO ${o} (message_id, topic, key, payload, headers, available_at)
SELECT m.message_id, m.topic, m.key, m.payload::jsonb, NULLIF(m.headers::text, 'null')::jsonb, ${AVAILABLE_AT('m.available_at', 'm.delay_ms')}
FROM ROWS FROM (unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), json_array_elements($4::json), json_array_elements($5::json),
                unnest($6::float8[]), unnest($7::timestamptz[]))
  WITH ORDINALITY AS m(message_id, topic, key, payload, headers, delay_ms, available_at, ord)
WHERE (SELECT count(pg_advisory_xact_lock($8::int, k.h))
       FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($3::text[]) AS k WHERE k IS NOT NULL ORDER BY 1) AS k) >= 0${notifyGate}
ORDER BY m.ord
ON CONFLICT (message_id) DO NOTHING`
  })
  const values: unknown[] = [
    messages.map((m) => m.messageId),
    messages.map((m) => m.topic),
    messages.map((m) => m.key),
    jsonArray(messages.map((m) => m.payload)),
    jsonArray(messages.map((m) => m.headers ?? 'null')),
    messages.map((m) => m.delayMs),
    messages.map((m) => m.availableAt),
    names.locks.keys,
  ]
  if (notify) values.push(names.channel)
  return { text, values }
}

/**
 * Payloads and headers, each already JSON text, joined into one JSON array:
 * no escaping at all. As a text[] they were escaped by node-postgres (a
 * backslash before each quote, by a regular expression), which took 4 s and
 * 1 GB of memory for 16 MiB of quote-heavy JSON, and crashed the process out
 * of memory for 128 MiB; joined, the same take 0.2 s and 111 MB.
 */
function jsonArray(texts: readonly string[]): string {
  return `[${texts.join(',')}]`
}
