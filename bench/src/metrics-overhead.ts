import { relayMetrics } from '@txbox/prometheus'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { redisStreams } from './drain/destinations/redis-streams.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'

const BATCH = 500
/** Scrapes per second while draining with metrics on: far more often than Prometheus (every 15–60 s), to make the cost visible. */
const SCRAPE_EVERY_MS = 1_000

/** relayMetrics(relay) from @txbox/prometheus, its registry scraped every SCRAPE_EVERY_MS while the relay drains. */
function withScrapedMetrics(relay: Parameters<typeof relayMetrics>[0]): () => void {
  const metrics = relayMetrics(relay)
  const scraper = setInterval(() => void metrics.registry.metrics(), SCRAPE_EVERY_MS)
  return () => {
    clearInterval(scraper)
    metrics.close()
  }
}

/**
 * The relay's throughput to Redis with and without @txbox/prometheus's
 * relayMetrics attached (and scraped every second, which reads the outbox
 * snapshot from the database), in interleaved rounds on the same backlog.
 */
export const metricsOverhead = drainBenchmark({
  name: 'metrics',
  title: 'Relay throughput with Prometheus metrics on vs off',
  count: { quick: 20_000, full: 100_000 },
  destination: redisStreams,
  competitors: [
    txboxRelays({ batchSize: BATCH, name: 'metrics on', attach: withScrapedMetrics, notes: `relayMetrics(relay) from @txbox/prometheus attached, its registry scraped every ${SCRAPE_EVERY_MS} ms.` }),
    txboxRelays({ batchSize: BATCH, name: 'metrics off' }),
  ],
  baseline: 'metrics off',
  notes: ['metrics_on_vs_off = median of per-round ratios (on ÷ off); 1.00 means no cost.'],
  figures: (r) => ({ metrics_on_vs_off: round(r.ratio('metrics on', 'metrics off').median) }),
})
