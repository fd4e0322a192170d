import { bareLoop } from './drain/competitors/bare-loop.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { natsJetStream } from './drain/destinations/nats-jetstream.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500
const NO_BLOCKING = 'txbox, blockKeyOnFailure off'
const PIPELINED = 'txbox, pipelineKeys'

/**
 * The relay into NATS JetStream beside a bare pipelined publish loop, with its
 * defaults (per-key order under failure: one pipelined call per wave), with
 * the publisher's pipelineKeys (one call per batch; order within a batch
 * traded when JetStream refuses a message) and with blockKeyOnFailure off
 * (one call per batch, no key held back after a failure).
 */
export const natsRelay = drainBenchmark({
  name: 'nats',
  title: 'NATS JetStream: txbox relay vs a bare pipelined publish loop',
  count: { quick: 10_000, full: 50_000 },
  destination: natsJetStream,
  competitors: [
    txboxRelays({ batchSize: BATCH }),
    txboxRelays({ batchSize: BATCH, pipelineKeys: true, name: PIPELINED }),
    txboxRelays({ batchSize: BATCH, blockKeyOnFailure: false, name: NO_BLOCKING }),
    bareLoop(BATCH),
  ],
  baseline: 'bare loop',
  figures: (r) => ({
    relay_nats_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_vs_bare_nats: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_pipelined_vs_bare_nats: round(r.ratio(PIPELINED, 'bare loop').median),
    relay_unblocked_vs_bare_nats: round(r.ratio(NO_BLOCKING, 'bare loop').median),
  }),
})
