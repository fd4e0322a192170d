// The subset of a NATS connection (nats.js v3: what `connect()` of
// @nats-io/transport-node resolves to) that txbox reads itself. We type it
// here rather than import the client's types so that our declarations do not
// depend on them; any v3 `NatsConnection` fits as it is. The JetStream client
// txbox builds on it (@nats-io/jetstream) uses the rest.

/** What the server said about itself when the connection opened. */
export interface NatsServerInfo {
  /** The largest message (headers and payload) the server takes, in bytes. */
  readonly max_payload: number
  /** Whether the server carries headers (NATS 2.2 and later). */
  readonly headers?: boolean | undefined
  /** Whether JetStream is enabled on the server. */
  readonly jetstream?: boolean | undefined
  readonly version: string
}

/** A nats.js v3 connection (`await connect({ servers })` from @nats-io/transport-node). */
export interface NatsConnectionLike {
  /** Set once connected; `max_payload` bounds what the publisher sends. */
  readonly info?: NatsServerInfo | undefined
  isClosed(): boolean
  isDraining(): boolean
  /** The server it is connected to, as `host:port`, for logs. */
  getServer(): string
  request(subject: string, payload?: Uint8Array | string, options?: { timeout: number }): Promise<unknown>
}
