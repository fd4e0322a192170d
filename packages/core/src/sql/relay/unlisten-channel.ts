import { type Statement, statement } from '../statement.js'

/**
 * unlisten-channel: stops receiving an outbox's wake-up signals on the
 * relay's LISTEN connection (see listen-channel.ts for why the channel is
 * spliced).
 *
 * Parameters: none (the channel is part of the text).
 * Returns: no rows.
 */
export function unlistenChannel(channel: string): Statement<never> {
  return statement(null, `unlisten|${channel}`, {}, () => `UNLISTEN "${channel}"`)
}
