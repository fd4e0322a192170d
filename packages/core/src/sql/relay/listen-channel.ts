import { type Statement, statement } from '../statement.js'

/**
 * listen-channel: starts receiving an outbox's
 * wake-up signals on the relay's LISTEN connection. LISTEN takes no
 * parameter: the channel is an identifier, spliced quoted. It comes from
 * names.channel, built from validated names only (see table-names.ts).
 *
 * Parameters: none (the channel is part of the text).
 * Returns: no rows.
 */
export function listenChannel(channel: string): Statement<never> {
  return statement(null, `listen|${channel}`, {}, () => `LISTEN "${channel}"`)
}
