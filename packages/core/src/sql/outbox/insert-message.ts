import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { availableAtExpression } from './available-at.js'

/**
 * insert-message: records ONE message in the caller's transaction (the
 * common case of enqueueOnCommit).
 *
 * Parameters:
 *   messageId     text
 *   topic         text
 *   key           text or null
 *   payload       JSON text
 *   headers       JSON text or null
 *   availableAt   timestamptz or null   only in the `scheduled` variant
 *   delayMs       float8 or null        only in the `scheduled` variant
 *   keyLockSpace  int (names.locks.keys) only in the `keyed` variant
 *   channel       text (names.channel)  only in the `notify` variant: NOTIFY inside the transaction
 * Variants: `keyed` (the message has a key), `scheduled` (a delay or a time),
 * `notify`. The simplest statement that fits the message: planning is a
 * noticeable share of an INSERT this small.
 * Returns: no rows. A message id already in the outbox inserts nothing (ON CONFLICT DO NOTHING).
 *
 * Per-key commit order: before a keyed row takes its id, the statement takes a
 * transaction-scoped advisory lock on the key's hash (the FROM item, evaluated
 * before the row exists). A second transaction writing the same key waits at
 * its INSERT until the first one ends, so ids of one key are taken in commit
 * order, and the relay's id order is commit order.
 */
export function insertMessage(names: TableNames, variant: InsertMessageVariant, params: InsertMessageParams): Statement<never> {
  const { keyed, scheduled, notify } = variant
  return statement(names, `insert-message|${keyed}|${scheduled}|${notify}`, params, (p) => {
    const from: string[] = []
    if (keyed) from.push(`pg_advisory_xact_lock(${p.keyLockSpace}::int, hashtext(${p.key}::text))`)
    if (notify) from.push(`pg_notify(${p.channel}::text, '')`)
    return `INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers${scheduled ? ', available_at' : ''})
SELECT ${p.messageId}::text, ${p.topic}::text, ${p.key}::text, ${p.payload}::text::jsonb, ${p.headers}::text::jsonb${scheduled ? `, ${availableAtExpression(`${p.availableAt}::timestamptz`, `${p.delayMs}::float8`)}` : ''}${from.length ? `\nFROM ${from.join(', ')}` : ''}
ON CONFLICT (message_id) DO NOTHING`
  }, 'outbox')
}

export interface InsertMessageVariant {
  readonly keyed: boolean
  readonly scheduled: boolean
  readonly notify: boolean
}

export interface InsertMessageParams {
  readonly messageId: string
  readonly topic: string
  readonly key: string | null
  readonly payload: string
  readonly headers: string | null
  readonly availableAt: Date | null
  readonly delayMs: number | null
  readonly keyLockSpace: number
  readonly channel: string
}
