import { bareLoop } from './drain/competitors/bare-loop.js'
import { graphileWorker } from './drain/competitors/graphile-worker.js'
import { pgBoss } from './drain/competitors/pg-boss.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { redisStreams } from './drain/destinations/redis-streams.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500

/** The relay into Redis Streams beside the bare loop and two Postgres job queues used as an outbox. */
export const relayThroughput = drainBenchmark({
  name: 'relay',
  title: 'Relay throughput to Redis Streams: txbox vs the bare loop vs graphile-worker and pg-boss',
  count: { quick: 20_000, full: 200_000 },
  destination: redisStreams,
  competitors: [txboxRelays({ batchSize: BATCH }), txboxRelays({ relays: 4, batchSize: BATCH }), bareLoop(BATCH), graphileWorker(), pgBoss()],
  baseline: 'bare loop',
  notes: ['relay_vs_bare_redis = txbox (1 relay) ÷ bare loop; relay_vs_graphile / relay_vs_pgboss = txbox (1 relay) ÷ the peer; all medians of per-round ratios.'],
  figures: (r) => ({
    relay_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_4_msgs_per_s: Math.round(r.median('txbox, 4 relays')),
    bare_redis_msgs_per_s: Math.round(r.median('bare loop')),
    relay_vs_bare_redis: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_4_vs_bare_redis: round(r.ratio('txbox, 4 relays', 'bare loop').median),
    relay_vs_graphile: round(r.ratio('txbox, 1 relay', 'graphile-worker').median),
    relay_vs_pgboss: round(r.ratio('txbox, 1 relay', 'pg-boss').median),
  }),
})
