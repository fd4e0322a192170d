import { relayMetrics } from '@txbox/prometheus'
import { txboxRelays } from './drain/competitors/txbox-relays.js'
import { redisStreams } from './drain/destinations/redis-streams.js'
import { drainBenchmark } from './drain/drain-benchmark.js'
import { round } from './support/stats.js'
import { registerTracing } from './support/tracing-sdk.js'

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

/** Scraped metrics, and the OpenTelemetry SDK registered for the drain (the relay makes a send span per publish call, linked to each message's creation context). */
function withMetricsAndTracing(relay: Parameters<typeof relayMetrics>[0]): () => Promise<void> {
  const stopMetrics = withScrapedMetrics(relay)
  const stopTracing = registerTracing()
  return async () => {
    stopMetrics()
    if ((await stopTracing()) === 0) throw new Error('tracing was on, yet the relay exported no span')
  }
}

/**
 * The relay's throughput to Redis with and without @txbox/prometheus's
 * relayMetrics attached (and scraped every second, which reads the outbox
 * snapshot from the database), and with the OpenTelemetry SDK registered on
 * top, in interleaved rounds on the same backlog. Every message carries a
 * traceparent header, as enqueueOnCommit writes under tracing, so that the
 * traced relay parses and links one creation context per message.
 */
export const metricsOverhead = drainBenchmark({
  name: 'metrics',
  title: 'Relay throughput with Prometheus metrics and OpenTelemetry tracing on vs off',
  count: { quick: 20_000, full: 100_000 },
  destination: redisStreams,
  competitors: [
    txboxRelays({ batchSize: BATCH, name: 'metrics on', traceContext: true, attach: withScrapedMetrics, notes: `relayMetrics(relay) from @txbox/prometheus attached, its registry scraped every ${SCRAPE_EVERY_MS} ms.` }),
    txboxRelays({
      batchSize: BATCH,
      name: 'metrics and tracing on',
      traceContext: true,
      attach: withMetricsAndTracing,
      notes: 'The same metrics, and the OpenTelemetry SDK registered (BasicTracerProvider with a BatchSpanProcessor to an exporter that drops the spans, async-hooks context manager, W3C propagator).',
    }),
    txboxRelays({ batchSize: BATCH, name: 'metrics off', traceContext: true }),
  ],
  baseline: 'metrics off',
  notes: [
    'Every message carries a traceparent header in all three variants; only the SDK registration differs.',
    'metrics_on_vs_off, metrics_and_tracing_on_vs_off = median of per-round ratios (on ÷ off); 1.00 means no cost.',
  ],
  figures: (r) => ({
    metrics_on_vs_off: round(r.ratio('metrics on', 'metrics off').median),
    metrics_and_tracing_on_vs_off: round(r.ratio('metrics and tracing on', 'metrics off').median),
  }),
})
