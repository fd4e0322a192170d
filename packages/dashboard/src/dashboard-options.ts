import type { IncomingMessage } from 'node:http'
import type { Logger, Relay, TableOptions } from '@txbox/core'
import type { Kysely } from 'kysely'

/** Options of {@link dashboardHandler}. */
export interface DashboardOptions extends TableOptions {
  /** The outbox's database. Its connection settings never reach the page. */
  db: Kysely<any>
  /**
   * The access token the page asks for (at least 16 characters): opened as
   * `…/?token=<token>` once, then kept in an HttpOnly cookie; API clients
   * may send `Authorization: Bearer <token>`. `false`: no token, for a
   * handler mounted behind your own authentication middleware.
   */
  token: string | false
  /** Let the page retry and purge dead letters. Default false: read-only. */
  allowChanges?: boolean
  /** Where changes (and errors) are logged. Default: `consoleLogger`. */
  logger?: Logger
  /**
   * Names who made a change, for the log line (e.g. from your middleware's
   * `request.user`). Default: the client's address.
   */
  actor?: (request: IncomingMessage) => string
  /**
   * Relays running in this process: their events count what was published,
   * failed and dead-lettered per topic, for the charts. Without them the page
   * shows PostgreSQL's count of rows the relays removed (all topics).
   */
  relays?: readonly Relay[]
  /** Path the handler is mounted at under a plain Node server, e.g. `/txbox` (Express strips it itself). Default ''. */
  basePath?: string
  /** How often the charts get a point, in ms; one hour of points is kept in memory. Default 10000. */
  sampleIntervalMs?: number
}
