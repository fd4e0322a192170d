import { bareLoop } from './drain/competitors/bare-loop.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { bullmq } from './drain/destinations/bullmq.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500
const NO_BLOCKING = 'txbox, blockKeyOnFailure off'
const PIPELINED = 'txbox, pipelineKeys'

/**
 * The relay into BullMQ beside a bare addBulk loop, with its defaults (per-key
 * order under failure: one addBulk per wave, as the publisher does not stop a
 * key by itself), with the publisher's pipelineKeys (one addBulk per batch;
 * order within a batch traded when an add fails) and with blockKeyOnFailure
 * off (one addBulk per batch, no key held back after a failure).
 */
export const bullmqRelay = drainBenchmark({
  name: 'bullmq',
  title: 'BullMQ: txbox relay vs a bare addBulk loop',
  count: { quick: 10_000, full: 50_000 },
  destination: bullmq,
  competitors: [
    txboxRelays({ batchSize: BATCH }),
    txboxRelays({ batchSize: BATCH, pipelineKeys: true, name: PIPELINED }),
    txboxRelays({ batchSize: BATCH, blockKeyOnFailure: false, name: NO_BLOCKING }),
    bareLoop(BATCH),
  ],
  baseline: 'bare loop',
  figures: (r) => ({
    relay_bullmq_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_vs_bare_bullmq: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_pipelined_vs_bare_bullmq: round(r.ratio(PIPELINED, 'bare loop').median),
    relay_unblocked_vs_bare_bullmq: round(r.ratio(NO_BLOCKING, 'bare loop').median),
  }),
})
