// A TCP proxy in front of RabbitMQ that can hold the broker's replies, so a
// test can have the broker close a connection while its confirms are in flight,
// or hold what the client sends, so the broker closes it before it saw them.
import { connect, createServer, type Socket } from 'node:net'

export interface HoldingProxy {
  /** The amqp URL through the proxy. */
  readonly url: string
  /**
   * From now on, bytes from the broker (default) or to the broker are held
   * back instead of forwarded; the other direction still flows.
   */
  hold(direction?: 'from-broker' | 'to-broker'): void
  /** Bytes held back so far. */
  heldBytes(): number
  /**
   * Stops holding. Held bytes are dropped, and the clients they were for are
   * cut (their byte stream lost a piece): they never see what the broker sent
   * meanwhile, confirms or its connection.close.
   */
  release(): void
  close(): Promise<void>
}

interface Pipe {
  readonly client: Socket
  readonly upstream: Socket
  held: number
}

export async function holdingProxy(target: string): Promise<HoldingProxy> {
  const to = new URL(target)
  let holding: 'from-broker' | 'to-broker' | undefined
  const pipes = new Set<Pipe>()
  const server = createServer((client) => {
    const pipe: Pipe = { client, upstream: connect(Number(to.port || 5672), to.hostname), held: 0 }
    pipes.add(pipe)
    client.on('data', (data) => {
      if (holding === 'to-broker') pipe.held += data.length
      else pipe.upstream.write(data)
    })
    pipe.upstream.on('data', (data) => {
      if (holding === 'from-broker') pipe.held += data.length
      else client.write(data)
    })
    pipe.upstream.on('close', () => {
      if (holding !== 'from-broker') client.destroy()
    })
    client.on('close', () => {
      pipes.delete(pipe)
      pipe.upstream.destroy()
    })
    client.on('error', () => {})
    pipe.upstream.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('holdingProxy: no port')
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String(address.port)
  return {
    url: url.toString(),
    hold(direction = 'from-broker') {
      holding = direction
    },
    heldBytes: () => [...pipes].reduce((sum, pipe) => sum + pipe.held, 0),
    release() {
      holding = undefined
      for (const pipe of pipes) if (pipe.held > 0 || pipe.upstream.destroyed) pipe.client.destroy()
    },
    async close() {
      for (const pipe of pipes) {
        pipe.client.destroy()
        pipe.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
