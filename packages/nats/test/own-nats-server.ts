import { type ChildProcess, spawn } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { waitFor } from '@txbox/testing'

/** A nats-server of the test's own, on a free port of 127.0.0.1 (the shared one must never be stopped or reconfigured). */
export interface OwnNatsServer {
  readonly port: number
  /** Kills it (SIGKILL) and waits until it is gone. Idempotent. */
  close(): Promise<void>
}

/** Starts `nats-server` with `args` (e.g. `--user a --pass b`, without -js) and waits until it accepts connections. */
export async function startOwnNatsServer(args: readonly string[]): Promise<OwnNatsServer> {
  const port = await freePort()
  const child: ChildProcess = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...args], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await waitFor(() => accepts(port), { timeoutMs: 10_000, intervalMs: 20, message: `nats-server on port ${port}` })
  return {
    port,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
