import { bareLoop } from './drain/competitors/bare-loop.js'
import { graphileWorker } from './drain/competitors/graphile-worker.js'
import { pgBoss } from './drain/competitors/pg-boss.js'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { redisStreams } from './drain/destinations/redis-streams.js'
import { type DrainRates, drainBenchmark } from './drain/drain-benchmark.js'
import { node22Note, node22Peers } from './drain/node22/node22-peer.js'
import { round } from './support/stats.js'

const BATCH = 500
const NAME = 'relay'

/**
 * The relay into Redis Streams beside the bare loop and two Postgres job
 * queues used as an outbox, each at the version that runs on Node 20 and at
 * its newest (under Node 22, in a child process), in the same rounds.
 */
export const relayThroughput = drainBenchmark({
  name: NAME,
  title: 'Relay throughput to Redis Streams: txbox vs the bare loop vs graphile-worker and pg-boss',
  count: { quick: 20_000, full: 200_000 },
  destination: redisStreams,
  competitors: [
    txboxRelays({ batchSize: BATCH }),
    txboxRelays({ relays: 4, batchSize: BATCH }),
    bareLoop(BATCH),
    graphileWorker(),
    pgBoss(),
    ...node22Peers(NAME, ['graphile-worker', 'pg-boss']),
  ],
  baseline: 'bare loop',
  notes: [
    'relay_vs_bare_redis = txbox (1 relay) ÷ bare loop; relay_vs_graphile / relay_vs_pgboss = txbox (1 relay) ÷ the peer at the version that runs on Node 20, relay_vs_graphile_newest / relay_vs_pgboss_newest at its newest (Node 22); all medians of per-round ratios.',
    node22Note(),
  ],
  figures: (r) => ({
    relay_msgs_per_s: Math.round(r.median('txbox, 1 relay')),
    relay_4_msgs_per_s: Math.round(r.median('txbox, 4 relays')),
    bare_redis_msgs_per_s: Math.round(r.median('bare loop')),
    relay_vs_bare_redis: round(r.ratio('txbox, 1 relay', 'bare loop').median),
    relay_4_vs_bare_redis: round(r.ratio('txbox, 4 relays', 'bare loop').median),
    relay_vs_graphile: versusPeer(r, 'graphile-worker', false),
    relay_vs_pgboss: versusPeer(r, 'pg-boss', false),
    relay_vs_graphile_newest: versusPeer(r, 'graphile-worker', true),
    relay_vs_pgboss_newest: versusPeer(r, 'pg-boss', true),
  }),
})

/** txbox (1 relay) ÷ the peer, found by name (its version is read from the installed package); null when it did not run. */
function versusPeer(r: DrainRates, peer: string, node22: boolean): number | null {
  const name = r.names.find((n) => n.startsWith(`${peer} `) && n.endsWith('(Node 22)') === node22)
  return name === undefined ? null : round(r.ratio('txbox, 1 relay', name).median)
}
