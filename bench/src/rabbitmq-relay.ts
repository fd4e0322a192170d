import { bareLoop } from './drain/competitors/bare-loop.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { rabbitmq } from './drain/destinations/rabbitmq.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500
const NO_BLOCKING = 'txbox, blockKeyOnFailure off'

/**
 * The relay into RabbitMQ beside a bare confirm-channel loop, with its
 * defaults (per-key order under failure: one publish call per wave) and with
 * blockKeyOnFailure off (one call per batch).
 */
export const rabbitmqRelay = drainBenchmark({
  name: 'rabbitmq',
  title: 'RabbitMQ: txbox relay vs a bare confirm-channel loop',
  count: { quick: 5_000, full: 50_000 },
  destination: rabbitmq,
  competitors: [txboxRelays({ batchSize: BATCH }), txboxRelays({ batchSize: BATCH, blockKeyOnFailure: false, name: NO_BLOCKING }), bareLoop(BATCH)],
  baseline: 'bare loop',
  figures: (r) => ({
    relay_rabbitmq_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_vs_bare_rabbitmq: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_unblocked_vs_bare_rabbitmq: round(r.ratio(NO_BLOCKING, 'bare loop').median),
  }),
})
