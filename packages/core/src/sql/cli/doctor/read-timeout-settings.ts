import { type Statement, statement } from '../../statement.js'

/**
 * read-timeout-settings: the server's timeouts that can end a relay's
 * transaction. `txbox doctor`.
 *
 * Parameters: none.
 * Returns: `{ name, setting, source }` for idle_in_transaction_session_timeout,
 * statement_timeout and (PostgreSQL 17) transaction_timeout; settings in ms, as text.
 */
export function readTimeoutSettings(): Statement<{ name: string; setting: string; source: string }> {
  return statement(
    null,
    'doctor|read-timeout-settings',
    {},
    () => `SELECT name, setting, source FROM pg_settings
WHERE name IN ('idle_in_transaction_session_timeout', 'statement_timeout', 'transaction_timeout') ORDER BY name`,
  )
}
