import { createRelay, migrate } from '@txbox/core'
import { rabbitmqPublisher } from '@txbox/rabbitmq'
import amqplib from 'amqplib'
import type pg from 'pg'
import { bareOutboxDdl } from './support/bare-redis-loop.js'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import type { BenchConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName, vacuum } from './support/db.js'
import { fillOutbox } from './support/outbox-fill.js'
import { interleavedRounds } from './support/rounds.js'
import { formatNumber, formatSummary, pairedRatio, round, summarize } from './support/stats.js'

const COMPETITORS = ['txbox, 1 relay', 'bare confirm loop'] as const
type Competitor = (typeof COMPETITORS)[number]
const BATCH = 500
const TOPIC = 'bench.events'

/**
 * The bare loop for RabbitMQ: per batch one DELETE … RETURNING, every row
 * published persistent and mandatory on one confirm channel, one
 * waitForConfirms, COMMIT. Returns the number published once the table is empty.
 */
async function runBareConfirmLoop(pool: pg.Pool, table: string, channel: amqplib.ConfirmChannel, exchange: string): Promise<number> {
  const client = await pool.connect()
  const claim = {
    name: 'bare-rabbit-claim',
    text: `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING message_id, topic, key, payload::text AS payload`,
    values: [BATCH],
  }
  let published = 0
  try {
    for (;;) {
      await client.query('BEGIN')
      const { rows } = await client.query(claim)
      if (rows.length === 0) {
        await client.query('COMMIT')
        return published
      }
      for (const r of rows) {
        channel.publish(exchange, r.topic, Buffer.from(r.payload), {
          persistent: true,
          mandatory: true,
          messageId: r.message_id,
          contentType: 'application/json',
          headers: { 'txbox-key': r.key, 'txbox-topic': r.topic },
        })
      }
      await channel.waitForConfirms()
      await client.query('COMMIT')
      published += rows.length
    }
  } finally {
    client.release()
  }
}

export const rabbitmqRelay: Benchmark = {
  name: 'rabbitmq',
  title: 'RabbitMQ: txbox relay vs a bare confirm-channel loop',
  async run(config: BenchConfig, log): Promise<BenchmarkResult> {
    const count = config.quick ? 5_000 : 50_000
    const rounds = config.quick ? 3 : 5
    const schema = schemaName(config, 'rabbit')
    const exchange = `bench-${config.runId}`
    const queue = `bench-${config.runId}-all`
    const pool = createPool(config, 3, schema)
    const db = kyselyOn(pool)
    const connection = await amqplib.connect(config.amqpUrl)
    const channel = await connection.createConfirmChannel()
    const publisher = rabbitmqPublisher({ url: config.amqpUrl, exchange })
    const outbox = `"${schema}".outbox`
    const bare = `"${schema}".bare_outbox`
    let seq = 0
    try {
      await channel.assertExchange(exchange, 'topic', { durable: true })
      await channel.assertQueue(queue, { durable: true })
      await channel.bindQueue(queue, exchange, '#')
      await migrate(db, { schema })
      await pool.query(bareOutboxDdl(bare))

      log(`  ${formatNumber(count)} messages, ${rounds} rounds`)
      const rates = await interleavedRounds(rounds, COMPETITORS, async (competitor: Competitor, r) => {
        const table = competitor === 'bare confirm loop' ? bare : outbox
        await fillOutbox(pool, table, count, { topic: TOPIC, from: seq })
        seq += count
        await vacuum(pool, table)
        await channel.purgeQueue(queue)
        const t0 = performance.now()
        if (competitor === 'bare confirm loop') {
          const n = await runBareConfirmLoop(pool, bare, channel, exchange)
          if (n !== count) throw new Error(`bare loop published ${n} of ${count}`)
        } else {
          const relay = createRelay({ db, publisher, schema, batchSize: BATCH })
          let published = 0
          while (published < count) {
            const n = await relay.runOnce()
            if (n === 0) throw new Error(`txbox relay stalled at ${published} of ${count}`)
            published += n
          }
        }
        const rate = count / ((performance.now() - t0) / 1000)
        const { messageCount } = await channel.checkQueue(queue)
        if (messageCount !== count) throw new Error(`${competitor}: the queue holds ${messageCount} messages, expected ${count}`)
        log(`    round ${r + 1} ${competitor}: ${formatNumber(rate)} msg/s`)
        return rate
      })
      const ratio = pairedRatio(rates['txbox, 1 relay'], rates['bare confirm loop'])
      return {
        tables: [
          {
            title: `Messages/s draining ${formatNumber(count)} messages into RabbitMQ (median of ${rounds} rounds, range)`,
            headers: ['drainer', 'msg/s', '÷ bare loop'],
            rows: COMPETITORS.map((c) => [c, formatSummary(summarize(rates[c])), formatSummary(pairedRatio(rates[c], rates['bare confirm loop']), 2)]),
          },
        ],
        notes: [
          `txbox: relay.runOnce() in a loop (batchSize ${BATCH}, defaults otherwise) with rabbitmqPublisher({ url, exchange }); bare: one confirm channel, persistent + mandatory, waitForConfirms per batch of ${BATCH}. Both publish to a durable topic exchange bound to one durable queue (checked to hold exactly N messages after each drain).`,
        ],
        figures: { relay_vs_bare_rabbitmq: round(ratio.median, 3), relay_rabbitmq_msgs_per_s: Math.round(summarize(rates['txbox, 1 relay']).median) },
      }
    } finally {
      await publisher.close?.().catch(() => {})
      await channel.deleteQueue(queue).catch(() => {})
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
      await dropSchema(pool, schema).catch(() => {})
      await db.destroy()
    }
  },
}
