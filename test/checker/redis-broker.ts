import { redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls } from '@txbox/testing'
import { Redis } from 'ioredis'
import { readStreamEntries } from '../support/redis-deliveries.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import type { BrokerFixture, RelayBrokerLink } from './broker-fixture.js'
import { parseN } from './run-history.js'

/**
 * The run's own Redis stream. Each relay publishes through its own client,
 * behind its own TCP proxy, so a 'close-connection' fault cuts that relay's
 * connection only. The stream is read with XRANGE: entry ids grow with
 * arrival, so its order is the broker's.
 */
export async function redisBroker(stream: string): Promise<BrokerFixture> {
  const target = new URL(serviceUrls().redisUrl)
  const reader = new Redis(serviceUrls().redisUrl, { lazyConnect: true })
  reader.on('error', () => {})
  await reader.connect()
  const links = new Set<RelayBrokerLink>()

  return {
    kind: 'redis',
    async linkFor(name) {
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
      const redis = new Redis({ host: '127.0.0.1', port: proxy.port, connectionName: name, db: Number(target.pathname.slice(1) || 0), autoResendUnfulfilledCommands: false })
      // A cut connection errors, then ioredis reconnects: what the publisher meets in production.
      redis.on('error', () => {})
      const link: RelayBrokerLink = {
        publisher: redisStreamsPublisher({ redis, stream }),
        closeConnection: () => proxy.dropAll(),
        async close() {
          links.delete(link)
          redis.disconnect()
          await proxy.close()
        },
      }
      links.add(link)
      return link
    },
    async mark() {
      return reader.xlen(stream)
    },
    async deliveries() {
      return (await readStreamEntries(reader, stream)).map((entry) => ({
        messageId: entry.fields.get('messageId') ?? '',
        n: parseN(entry.fields.get('payload') ?? ''),
        key: entry.fields.get('key') ?? null,
        at: Number(entry.id.split('-')[0]),
      }))
    },
    async cleanup() {
      for (const link of [...links]) await link.close()
      await reader.del(stream)
      reader.disconnect()
    },
  }
}
