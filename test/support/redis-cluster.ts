import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { waitFor } from '@txbox/testing'
import { Cluster, type ClusterOptions, Redis } from 'ioredis'
import { answersPing, freePort } from './redis-server.js'

const run = promisify(execFile)

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes with
 * cluster mode on, on free ports of 127.0.0.1, joined by `redis-cli --cluster
 * create` (no replicas), without persistence. The shared Redis is a single
 * node and must never be touched; this one is started and removed by the test.
 */
export interface OwnRedisCluster {
  /** The masters' ports, each serving a third (for three masters) of the 16384 slots. */
  readonly ports: readonly number[]
  /** A new ioredis Cluster client on it (its connection errors are ignored: they are the test's business). The caller quits it. */
  client(options?: ClusterOptions): Cluster
  /** Kills every node and removes their files. Idempotent. */
  close(): Promise<void>
}

export async function startOwnRedisCluster(masters = 3): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'txbox-redis-cluster-'))
  const children: ChildProcess[] = []
  let closed: Promise<void> | undefined
  const close = () => {
    closed ??= (async () => {
      await Promise.all(children.map(killed))
      await rm(dir, { recursive: true, force: true })
    })()
    return closed
  }

  try {
    const ports: number[] = []
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      // The cluster bus defaults to port + 10000, which may be taken or above
      // 65535 for an ephemeral port: give it a free port of its own.
      const busPort = await freePort()
      children.push(
        spawn(
          'redis-server',
          [
            '--port', String(port),
            '--cluster-enabled', 'yes',
            '--cluster-port', String(busPort),
            '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--dir', dir,
            '--save', '',
            '--appendonly', 'no',
            '--bind', '127.0.0.1',
          ],
          { stdio: 'ignore' },
        ),
      )
      ports.push(port)
    }
    for (const port of ports) {
      await waitFor(() => answersPing(port), { timeoutMs: 10_000, intervalMs: 20, message: `cluster node on port ${port}` })
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000,
    })
    await waitFor(() => allNodesOk(ports), { timeoutMs: 20_000, intervalMs: 50, message: 'cluster_state:ok on every node' })

    return {
      ports,
      client(options = {}) {
        const cluster = new Cluster(
          ports.map((port) => ({ host: '127.0.0.1', port })),
          options,
        )
        cluster.on('error', () => {})
        return cluster
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** Whether every node reports the cluster as ok (all slots served) and knows every other node. */
async function allNodesOk(ports: readonly number[]): Promise<boolean> {
  const states = await Promise.all(
    ports.map(async (port) => {
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      node.on('error', () => {})
      try {
        await node.connect()
        const info = String(await node.call('CLUSTER', 'INFO'))
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${ports.length}`)
      } catch {
        return false
      } finally {
        node.disconnect()
      }
    }),
  )
  return states.every(Boolean)
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
