import type { Logger } from '../logger.js'
import { listenChannel } from '../sql/relay/listen-channel.js'
import { unlistenChannel } from '../sql/relay/unlisten-channel.js'

/** The part of a pg client the listener uses. */
export interface ListenClient {
  query(text: string): Promise<unknown>
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  removeAllListeners?(event?: string): unknown
  /** Present on pool clients. */
  release?(destroy?: boolean | Error): void
  /** Present on plain clients. */
  end?(): Promise<void>
}

/**
 * Where the relay gets its LISTEN connection: a `pg.Pool` (typically the one
 * behind your Kysely instance; one of its connections is held while the relay
 * runs), or any object whose `connect()` resolves to a connected client.
 */
export interface ListenSource {
  connect(): Promise<ListenClient>
  /** A pg.Pool's event API: used to guard its clients (see pool-guard.ts). */
  on?(event: 'connect' | 'acquire', listener: (client: ListenClient) => void): unknown
}

/**
 * Sends a NOTIFY the way writers do (through `db`, not the LISTEN
 * connection), to check that LISTEN hears it.
 */
export type SendProbe = (channel: string, payload: string) => Promise<void>

/**
 * How long a probe NOTIFY may take to come back on the LISTEN connection. On
 * a direct connection it takes about a millisecond; through a
 * transaction-mode pooler it never comes.
 */
const PROBE_TIMEOUT_MS = 3_000

/**
 * Holds a LISTEN connection and calls `onSignal` for each notification on
 * `channel`. When the connection drops it reconnects with backoff, and calls
 * `onSignal` once reconnected, since signals may have been missed meanwhile.
 *
 * With `sendProbe`, each new LISTEN is checked with a round trip: a
 * transaction-mode pooler (PgBouncer) accepts LISTEN and then hands the
 * server connection to other clients, so no signal ever arrives. When the
 * probe does not come back, the listener says so and lets the connection go;
 * the relay polls, as without `listen`.
 */
export class WakeUpListener {
  private client: ListenClient | undefined
  private stopped = false
  private retryTimer: NodeJS.Timeout | undefined
  private probeTimer: NodeJS.Timeout | undefined
  private probeToken: string | undefined
  private failures = 0

  constructor(
    private readonly source: ListenSource,
    private readonly channel: string,
    private readonly onSignal: () => void,
    private readonly onError: (error: Error) => void,
    private readonly logger: Logger,
    private readonly sendProbe?: SendProbe,
  ) {}

  async start(): Promise<void> {
    this.stopped = false
    await this.connect()
  }

  private async connect(): Promise<void> {
    let client: ListenClient | undefined
    try {
      client = await this.source.connect()
      client.on('notification', (message) => {
        if (message.channel !== this.channel) return
        if (this.probeToken !== undefined && message.payload === this.probeToken) {
          this.probeAnswered()
          this.logger.debug({ channel: this.channel }, 'txbox relay: LISTEN self-test passed')
        }
        this.onSignal()
      })
      client.on('error', (error) => this.lost(client as ListenClient, error))
      await client.query(listenChannel(this.channel).text)
      if (this.stopped) {
        dispose(client)
        return
      }
      this.client = client
      if (this.failures > 0) this.logger.info({ channel: this.channel }, 'txbox relay: wake-up connection restored')
      this.failures = 0
      this.onSignal()
      this.probe(client)
    } catch (error) {
      if (client) dispose(client)
      this.scheduleReconnect(error as Error)
    }
  }

  /** Sends a probe NOTIFY and gives the connection up if it does not come back. */
  private probe(client: ListenClient): void {
    if (!this.sendProbe) return
    const token = `txbox-probe:${Math.random().toString(36).slice(2)}`
    this.probeToken = token
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined
      if (this.client !== client || this.probeToken !== token) return
      this.probeToken = undefined
      this.client = undefined
      dispose(client)
      this.logger.warn(
        { channel: this.channel, waitedMs: PROBE_TIMEOUT_MS },
        'txbox relay: LISTEN receives no notifications on this connection (a transaction-mode pooler such as PgBouncer?); polling instead. For wake-up signals, give the relay a direct connection to PostgreSQL for LISTEN',
      )
    }, PROBE_TIMEOUT_MS)
    this.probeTimer.unref()
    this.sendProbe(this.channel, token).catch((error: Error) => {
      // Not a verdict on LISTEN: the database failed the NOTIFY. Keep listening.
      if (this.probeToken === token) this.probeAnswered()
      this.logger.debug({ err: error }, 'txbox relay: the LISTEN self-test could not send its NOTIFY; skipping it')
    })
  }

  private probeAnswered(): void {
    this.probeToken = undefined
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = undefined
  }

  private lost(client: ListenClient, error: Error): void {
    if (this.client !== client) return
    this.client = undefined
    this.probeAnswered() // the next connection runs its own self-test
    dispose(client)
    this.scheduleReconnect(error)
  }

  private scheduleReconnect(error: Error): void {
    if (this.stopped) return
    this.failures += 1
    this.onError(error)
    const delay = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 9))
    this.logger.warn({ err: error, retryInMs: delay }, 'txbox relay: wake-up connection lost; polling meanwhile')
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      void this.connect()
    }, delay)
    this.retryTimer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.probeAnswered()
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    const client = this.client
    this.client = undefined
    if (client) {
      try {
        await client.query(unlistenChannel(this.channel).text)
      } catch {
        // The connection is being discarded anyway.
      }
      dispose(client)
    }
  }
}

function dispose(client: ListenClient): void {
  client.removeAllListeners?.('notification')
  // Keep an error listener: a socket error after release must not crash the process.
  client.removeAllListeners?.('error')
  client.on('error', () => {})
  if (client.release) client.release(true)
  else void client.end?.().catch(() => {})
}
