import { createServer, type Server, type Socket, connect } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 between a client and a real service, to cut the
 * network between them on demand: drop every connection, refuse new ones,
 * or stall (stop forwarding bytes, connections kept open) and resume.
 */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number
  /** Connections currently open through the proxy. */
  readonly connections: number
  /** Connections accepted since the start (refused ones excluded). */
  readonly accepted: number
  /** Resets every open connection, both sides, as a failed link would. */
  dropAll(): void
  /** While on, new connections are reset as soon as they arrive. */
  refuse(on: boolean): void
  /** Stops forwarding in both directions; the sockets stay open, bytes wait in the kernel buffers. */
  stall(): void
  /** Forwards again what a stall held back, and everything after. */
  resume(): void
  /** Drops everything and stops listening. Idempotent. */
  close(): Promise<void>
}

interface Link {
  readonly client: Socket
  readonly upstream: Socket
}

/** Starts a proxy on a free port of 127.0.0.1 that forwards to `target`. */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1'
  const links = new Set<Link>()
  let refusing = false
  let stalled = false
  let accepted = 0
  let closed: Promise<void> | undefined

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause()
    })
    to.on('drain', () => {
      if (!stalled) from.resume()
    })
    from.on('end', () => to.end())
  }

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    if (refusing || closed) {
      client.resetAndDestroy()
      return
    }
    accepted += 1
    const upstream = connect({ host, port: target.port })
    upstream.pause()
    const link: Link = { client, upstream }
    links.add(link)
    const teardown = () => {
      if (!links.delete(link)) return
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true)
      socket.on('error', teardown)
      socket.on('close', teardown)
    }
    forward(client, upstream)
    forward(upstream, client)
    upstream.once('connect', () => {
      if (!stalled) {
        client.resume()
        upstream.resume()
      }
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port')

  /**
   * Resets a socket, or destroys it when it cannot be reset: still
   * connecting, or half-closed (its peer ended it) — Node 20 never releases
   * the handle of a half-closed socket reset with resetAndDestroy().
   */
  const cut = (socket: Socket) => {
    if (socket.connecting || !socket.readable || !socket.writable) socket.destroy()
    else socket.resetAndDestroy()
  }

  const dropAll = () => {
    for (const link of [...links]) {
      links.delete(link)
      cut(link.client)
      cut(link.upstream)
    }
  }

  return {
    port: address.port,
    get connections() {
      return links.size
    },
    get accepted() {
      return accepted
    },
    dropAll,
    refuse(on) {
      refusing = on
    },
    stall() {
      stalled = true
      for (const { client, upstream } of links) {
        client.pause()
        upstream.pause()
      }
    },
    resume() {
      stalled = false
      for (const { client, upstream } of links) {
        if (upstream.connecting) continue
        client.resume()
        upstream.resume()
      }
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        dropAll()
        server.close(() => resolve())
      })
      return closed
    },
  }
}
