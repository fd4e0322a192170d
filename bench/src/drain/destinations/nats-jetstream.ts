import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { natsPublisher } from '@txbox/nats'
import type { BenchConfig } from '../../support/config.js'
import type { BareRow, Destination, PublisherVariant } from '../destination.js'

const encoder = new TextEncoder()

/**
 * NATS JetStream: one file-backed stream of this run's own capturing
 * `bench.<run>.>`, a subject per round (the topic), purged after every drain.
 */
export async function natsJetStream(config: BenchConfig): Promise<Destination> {
  const stream = `bench_${config.runId}`
  const admin = await connect({ servers: config.natsUrl, name: 'txbox-bench' })
  const sender = await connect({ servers: config.natsUrl, name: 'txbox-bench-bare' })
  const connections: NatsConnection[] = [admin, sender]
  const jsm = await jetstreamManager(admin)
  await jsm.streams.add({ name: stream, subjects: [`bench.${config.runId}.>`], storage: StorageType.File })
  const js = jetstream(sender)
  return {
    name: 'NATS JetStream',
    notes: `NATS JetStream: a file-backed stream (default duplicate window); the bare loop sends every row of a batch with js.publish (Nats-Msg-Id = message id, headers txbox-key and txbox-topic) on its own connection, then awaits every PubAck; txbox: natsPublisher({ connection }), one connection per relay.`,
    topic: (label) => `bench.${config.runId}.${label}`,
    async publisher(variant: PublisherVariant = {}) {
      const connection = await connect({ servers: config.natsUrl, name: 'txbox-bench-relay' })
      connections.push(connection)
      return natsPublisher({ connection, ...variant })
    },
    async send(rows: readonly BareRow[]) {
      const acks = rows.map((r) => {
        const h = headers()
        h.set('txbox-topic', r.topic)
        if (r.key !== null) h.set('txbox-key', r.key)
        return js.publish(r.topic, encoder.encode(r.payload), { msgID: r.message_id, headers: h })
      })
      for (const ack of await Promise.all(acks)) if (!ack.stream) throw new Error(`JetStream answered ${JSON.stringify(ack)} instead of a PubAck`)
    },
    async count(topic) {
      const info = await jsm.streams.info(stream, { subjects_filter: topic })
      return info.state.subjects?.[topic] ?? 0
    },
    async clear(topic) {
      await jsm.streams.purge(stream, { filter: topic })
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => {})
      for (const nc of connections) await nc.close().catch(() => {})
    },
  }
}
