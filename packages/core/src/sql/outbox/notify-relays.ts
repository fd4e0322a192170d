import { type Statement, statement } from '../statement.js'

/**
 * notify-relays: wakes the relays listening on an outbox's channel (NOTIFY;
 * inside a transaction, sent when it commits).
 *
 * Parameters:
 *   channel  text  names.channel
 * Returns: one row, nothing in it worth reading.
 */
export function notifyRelays(params: { readonly channel: string }): Statement<unknown> {
  return statement(null, 'notify-relays', params, (p) => `SELECT pg_notify(${p.channel}::text, '')`)
}
