import { type Statement, statement } from '../statement.js'

/**
 * notify-relays: wakes the relays listening on an outbox's channel (NOTIFY;
 * inside a transaction, sent when it commits).
 *
 * Parameters:
 *   channel  text  names.channel
 *   payload  text  '' for a wake-up; a token for a probe that checks LISTEN hears it
 * Returns: one row, nothing in it worth reading.
 */
export function notifyRelays(params: { readonly channel: string; readonly payload: string }): Statement<unknown> {
  return statement(null, 'notify-relays', params, (p) => `SELECT pg_notify(${p.channel}::text, ${p.payload}::text)`)
}
