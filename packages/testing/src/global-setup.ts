import type { TestProject } from 'vitest/node'
import { dockerIsReachable } from './services.js'

/**
 * Vitest global setup: where a Docker daemon is reachable and no TEST_*_URL
 * names a server, start PostgreSQL, Redis, RabbitMQ and NATS (with JetStream) with Testcontainers and
 * hand their URLs to the test files through the environment. Otherwise the
 * tests use the servers named by TEST_*_URL or the local defaults.
 */
export default async function setup(_project: TestProject): Promise<() => Promise<void>> {
  const wanted = {
    pg: process.env.TEST_DATABASE_URL === undefined,
    redis: process.env.TEST_REDIS_URL === undefined,
    amqp: process.env.TEST_AMQP_URL === undefined,
    nats: process.env.TEST_NATS_URL === undefined,
  }
  if (!(wanted.pg || wanted.redis || wanted.amqp || wanted.nats) || !(await dockerIsReachable())) {
    return async () => {}
  }
  const stops: Array<() => Promise<unknown>> = []
  if (wanted.pg) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const pg = await new PostgreSqlContainer('postgres:15-alpine').start()
    process.env.TEST_DATABASE_URL = pg.getConnectionUri()
    stops.push(() => pg.stop())
  }
  if (wanted.redis) {
    const { RedisContainer } = await import('@testcontainers/redis')
    const redis = await new RedisContainer('redis:7-alpine').start()
    process.env.TEST_REDIS_URL = redis.getConnectionUrl()
    stops.push(() => redis.stop())
  }
  if (wanted.amqp) {
    const { GenericContainer, Wait } = await import('testcontainers')
    const rabbit = await new GenericContainer('rabbitmq:3.13-alpine')
      .withExposedPorts(5672)
      .withWaitStrategy(Wait.forLogMessage('Server startup complete'))
      .start()
    process.env.TEST_AMQP_URL = `amqp://guest:guest@${rabbit.getHost()}:${rabbit.getMappedPort(5672)}`
    stops.push(() => rabbit.stop())
  }
  if (wanted.nats) {
    const { GenericContainer, Wait } = await import('testcontainers')
    const nats = await new GenericContainer('nats:2.10-alpine')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage('Server is ready'))
      .start()
    process.env.TEST_NATS_URL = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`
    stops.push(() => nats.stop())
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop()))
  }
}
