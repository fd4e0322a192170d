import { connect } from 'node:net'
import { existsSync } from 'node:fs'

/**
 * Where the real services for the tests are. Order of preference:
 * 1. the TEST_*_URL environment variables,
 * 2. containers started by the global setup (when a Docker daemon is reachable),
 * 3. the servers on 127.0.0.1 that the development machines and CI run.
 */
export interface ServiceUrls {
  readonly databaseUrl: string
  readonly redisUrl: string
  readonly amqpUrl: string
  /** A NATS server with JetStream enabled (`nats-server -js`). */
  readonly natsUrl: string
}

export const localServiceUrls: ServiceUrls = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: 'redis://127.0.0.1:6379',
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
  natsUrl: 'nats://127.0.0.1:4222',
}

export function serviceUrls(): ServiceUrls {
  return {
    databaseUrl: process.env.TEST_DATABASE_URL ?? localServiceUrls.databaseUrl,
    redisUrl: process.env.TEST_REDIS_URL ?? localServiceUrls.redisUrl,
    amqpUrl: process.env.TEST_AMQP_URL ?? localServiceUrls.amqpUrl,
    natsUrl: process.env.TEST_NATS_URL ?? localServiceUrls.natsUrl,
  }
}

/** True when a Docker daemon answers on its socket (or DOCKER_HOST is set). */
export async function dockerIsReachable(timeoutMs = 500): Promise<boolean> {
  if (process.env.DOCKER_HOST) return true
  const socket = '/var/run/docker.sock'
  if (!existsSync(socket)) return false
  return new Promise((resolve) => {
    const conn = connect(socket)
    const done = (ok: boolean) => {
      conn.destroy()
      resolve(ok)
    }
    conn.setTimeout(timeoutMs, () => done(false))
    conn.once('error', () => done(false))
    conn.once('connect', () => {
      conn.write('GET /_ping HTTP/1.0\r\n\r\n')
    })
    conn.once('data', (data) => done(data.toString().includes('200 OK')))
  })
}
