import { bareLoop } from './drain/competitors/bare-loop.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { rabbitmq } from './drain/destinations/rabbitmq.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500
const NO_BLOCKING = 'txbox, blockKeyOnFailure off'
const PIPELINED = 'txbox, pipelineKeys'

/**
 * The relay into RabbitMQ beside a bare confirm-channel loop, with its
 * defaults (per-key order under failure: one publish call per wave), with
 * the publisher's pipelineKeys (one call per batch; order within a batch
 * traded when RabbitMQ refuses a message) and with blockKeyOnFailure off (one
 * call per batch, no key held back after a failure).
 */
export const rabbitmqRelay = drainBenchmark({
  name: 'rabbitmq',
  title: 'RabbitMQ: txbox relay vs a bare confirm-channel loop',
  count: { quick: 5_000, full: 50_000 },
  destination: rabbitmq,
  competitors: [
    txboxRelays({ batchSize: BATCH }),
    txboxRelays({ batchSize: BATCH, pipelineKeys: true, name: PIPELINED }),
    txboxRelays({ batchSize: BATCH, blockKeyOnFailure: false, name: NO_BLOCKING }),
    bareLoop(BATCH),
  ],
  baseline: 'bare loop',
  figures: (r) => ({
    relay_rabbitmq_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_vs_bare_rabbitmq: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_pipelined_vs_bare_rabbitmq: round(r.ratio(PIPELINED, 'bare loop').median),
    relay_unblocked_vs_bare_rabbitmq: round(r.ratio(NO_BLOCKING, 'bare loop').median),
  }),
})
