import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@txbox/testing'

/**
 * A redis-server of the test's own, on a free port of 127.0.0.1, that the test
 * may kill and restart (the shared Redis must never be stopped).
 *
 * It writes an append-only file with fsync on every write: an outage test
 * checks that nothing the broker acknowledged goes missing, so the broker
 * must keep what it acknowledged across the restart.
 */
export interface OwnRedisServer {
  readonly port: number
  readonly url: string
  /** Whether the server process is up. */
  readonly running: boolean
  /** Kills the server at once (SIGKILL), as a crash or a lost host would. */
  kill(): Promise<void>
  /** Starts it again on the same port and data, and waits until it answers. */
  start(): Promise<void>
  /** Kills it and removes its data. Idempotent. */
  close(): Promise<void>
}

export async function startOwnRedisServer(): Promise<OwnRedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'txbox-redis-'))
  let child: ChildProcess | undefined
  let exited: Promise<void> | undefined

  const start = async () => {
    if (child) return
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
      { stdio: 'ignore' },
    )
    child = proc
    exited = new Promise((resolve) => proc.once('exit', () => resolve()))
    proc.once('exit', () => {
      if (child === proc) child = undefined
    })
    await waitFor(() => answersPing(port), { timeoutMs: 10_000, intervalMs: 20, message: `redis-server on port ${port}` })
  }

  const kill = async () => {
    const proc = child
    if (!proc) return
    proc.kill('SIGKILL')
    await exited
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined
    },
    kill,
    start,
    async close() {
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A TCP port of 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

/** Whether a Redis server on 127.0.0.1:`port` answers PING (a server still loading answers an error: not yet). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
