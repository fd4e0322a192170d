// A message the broker refuses by closing the channel (not the connection,
// not a nack): RabbitMQ's sender-selected distribution reads the `CC` and
// `BCC` headers and closes the channel with 406 PRECONDITION_FAILED when one
// is not an array. txbox headers are strings, so `headers: { CC: '…' }` (a
// plausible user header: "carbon copy") passes enqueue and every check of the
// publisher, and then closes the channel under the whole call.
import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Admin, type AdminChannel, openAdmin } from './broker.js'

const t = useTestDatabase('rmq_cc')
const exchange = uniqueName('rmq_cc')
let admin: Admin
let channel: AdminChannel
let queue: string
const received: string[] = []

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
  queue = (await channel.assertQueue(uniqueName('rmq_cc_q'), { durable: false })).queue
  await channel.bindQueue(queue, exchange, '#')
  await channel.consume(queue, (m) => m && received.push(m.properties.messageId), { noAck: true })
})

afterAll(async () => {
  await channel.deleteQueue(queue)
  await channel.deleteExchange(exchange)
  await admin.close()
})

const outboxRows = async () =>
  (await sql<{ message_id: string; attempts: number }>`select message_id, attempts from ${sql.table(`${t.schema}.outbox`)} order by id`.execute(t.db)).rows

describe('a message the broker refuses by closing its channel', () => {
  test('costs its neighbours nothing and is not retried without end as "unreachable"', async () => {
    const publisher = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange })
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, maxAttempts: 3, backoff: { initialDelay: 1, maxDelay: 1 } })
    try {
      const [poison, ...neighbours] = await withTransaction(t.db, (trx) =>
        enqueueOnCommit(
          trx,
          [
            { topic: `${exchange}.mail`, key: 'a', payload: { n: 1 }, headers: { CC: 'ops@example.com' } },
            { topic: `${exchange}.mail`, key: 'b', payload: { n: 2 } },
            { topic: `${exchange}.mail`, key: 'c', payload: { n: 3 } },
          ],
          { schema: t.schema },
        ),
      )
      for (let i = 0; i < 6; i++) await relay.runOnce()
      const rows = await outboxRows()
      // The neighbours left the outbox as published; the poison message spent
      // its attempts (or went to the dead letters at once), it is not retried
      // without end as if the broker were unreachable.
      expect(rows.filter((r) => neighbours.includes(r.message_id))).toEqual([])
      expect(rows.filter((r) => r.message_id === poison && r.attempts === 0)).toEqual([])
      await waitFor(() => neighbours.every((id) => received.includes(id)))
    } finally {
      await relay.stop()
      await publisher.close?.()
    }
  })
})
