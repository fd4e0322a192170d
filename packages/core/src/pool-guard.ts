/** The part of a `pg.Pool` the guard uses: its client events. */
export interface GuardablePool {
  on?(event: 'connect' | 'acquire', listener: (client: { on(event: 'error', listener: (error: Error) => void): unknown }) => void): unknown
}

const guardedPools = new WeakSet<object>()

/**
 * node-postgres emits 'error' on a client when the server ends its
 * connection, and a pg.Pool listens for it only while the client is idle. A
 * client checked out for the relay's transaction (held open while a batch is
 * published) has no listener then, so a terminated backend would crash the
 * process with an uncaught 'error'. This adds a listener to every client of
 * the pool when it is created or checked out ('acquire' also covers the
 * clients the pool had before the guard), which hands the error to
 * `onError`; the query in flight still fails, and its caller (the relay, a
 * CLI command) reports that. A pool is guarded once: the first caller's
 * `onError` is the one called.
 */
export function guardPoolClients(pool: GuardablePool, onError: (error: Error) => void): void {
  if (typeof pool.on !== 'function' || guardedPools.has(pool)) return
  guardedPools.add(pool)
  const guarded = new WeakSet<object>()
  const guard = (client: { on(event: 'error', listener: (error: Error) => void): unknown }) => {
    if (guarded.has(client)) return
    guarded.add(client)
    client.on('error', onError)
  }
  pool.on('connect', guard)
  pool.on('acquire', guard)
}
