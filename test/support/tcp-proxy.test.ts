import { connect, type Socket } from 'node:net'
import { serviceUrls, waitFor } from '@txbox/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

// The proxy is tested against the real Redis: PING answers +PONG.
const redis = new URL(serviceUrls().redisUrl)
let proxy: TcpProxy
const sockets: Socket[] = []

interface Conn {
  readonly socket: Socket
  readonly received: () => string
  readonly closed: () => boolean
}

async function open(port: number): Promise<Conn> {
  const socket = connect({ host: '127.0.0.1', port })
  sockets.push(socket)
  let data = ''
  let closed = false
  socket.on('data', (chunk) => {
    data += chunk.toString()
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
  })
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve())
    socket.once('close', () => resolve())
  })
  return { socket, received: () => data, closed: () => closed }
}

/** An absence can only be observed over a while: true if `condition` never held during `ms`. */
async function neverWithin(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (condition()) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return !condition()
}

beforeAll(async () => {
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) })
})
afterEach(() => {
  proxy.refuse(false)
  proxy.resume()
  for (const s of sockets.splice(0)) s.destroy()
})
afterAll(async () => {
  await proxy.close()
})

describe('tcp proxy', () => {
  it('forwards both ways to the real service', async () => {
    const c = await open(proxy.port)
    c.socket.write('PING\r\n')
    await waitFor(() => c.received() === '+PONG\r\n', { timeoutMs: 2000 })
    expect(proxy.connections).toBe(1)
  })

  it('dropAll resets open connections, and new ones work again', async () => {
    const c = await open(proxy.port)
    await waitFor(() => proxy.connections === 1, { timeoutMs: 2000 })
    proxy.dropAll()
    await waitFor(() => c.closed(), { timeoutMs: 2000 })
    expect(proxy.connections).toBe(0)
    const again = await open(proxy.port)
    again.socket.write('PING\r\n')
    await waitFor(() => again.received() === '+PONG\r\n', { timeoutMs: 2000 })
  })

  it('refuse resets new connections until it is turned off', async () => {
    const accepted = proxy.accepted
    proxy.refuse(true)
    const refused = await open(proxy.port)
    await waitFor(() => refused.closed(), { timeoutMs: 2000 })
    expect(refused.received()).toBe('')
    expect(proxy.accepted).toBe(accepted)
    proxy.refuse(false)
    const c = await open(proxy.port)
    c.socket.write('PING\r\n')
    await waitFor(() => c.received() === '+PONG\r\n', { timeoutMs: 2000 })
  })

  it('stall holds bytes back with the connection open, and resume delivers them', async () => {
    const c = await open(proxy.port)
    c.socket.write('PING\r\n')
    await waitFor(() => c.received() === '+PONG\r\n', { timeoutMs: 2000 })
    proxy.stall()
    c.socket.write('PING\r\n')
    expect(await neverWithin(() => c.received().length > 7, 300)).toBe(true)
    expect(c.closed()).toBe(false)
    proxy.resume()
    await waitFor(() => c.received() === '+PONG\r\n+PONG\r\n', { timeoutMs: 2000 })
  })

  it('a connection opened during a stall waits, then works on resume', async () => {
    proxy.stall()
    const c = await open(proxy.port)
    c.socket.write('PING\r\n')
    expect(await neverWithin(() => c.received().length > 0, 300)).toBe(true)
    proxy.resume()
    await waitFor(() => c.received() === '+PONG\r\n', { timeoutMs: 2000 })
  })
})
