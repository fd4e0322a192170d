import type { OutboxMessage, Relay, RelayErrorSource, RelayEvents, RelayMetrics } from '@txbox/core'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Options of {@link relayMetrics}. */
export interface RelayMetricsOptions {
  /**
   * Where the metrics are registered. Default: a new registry of their own
   * (serve it with {@link monitoringHandler}). Pass prom-client's `register`
   * to serve them with your other metrics.
   */
  registry?: Registry
  /**
   * Labels added to every txbox metric, e.g. `{ outbox: 'orders' }` to tell
   * two relays of one process apart on one registry (each then needs its own
   * value). Default: none.
   */
  labels?: Readonly<Record<string, string>>
}

/** The metrics of one relay, registered by {@link relayMetrics}. */
export interface RelayMetricsCollector {
  /** The registry the metrics are in. */
  readonly registry: Registry
  /** Stops counting (removes the relay listeners) and unregisters the metrics. Idempotent. */
  close(): void
}

/** Why the relay reported an error: the `error` event's source, or the broker being unreachable. */
type ErrorKind = RelayErrorSource | 'broker-unreachable'

// Buckets in seconds: a claim takes about a millisecond; a publish one broker
// round trip, or up to publishTimeout (30 s by default) when the broker stalls.
const CLAIM_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const PUBLISH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]

/**
 * Prometheus metrics for a relay, with prom-client: counters by topic of
 * messages published, failed (to be retried) and dead-lettered; the outbox
 * backlog, its oldest due message's age and the dead letters waiting (read
 * from the database at each scrape, with `relay.metrics()`); histograms of
 * claim and publish durations and batch sizes; relay errors by kind.
 *
 * The counters come from the relay's events, so they count from the call on.
 *
 * @example
 * const metrics = relayMetrics(relay)
 * http.createServer(monitoringHandler({ registry: metrics.registry })).listen(9464)
 */
export function relayMetrics(relay: Relay, options: RelayMetricsOptions = {}): RelayMetricsCollector {
  const registry = options.registry ?? new Registry()
  const labels = options.labels ?? {}
  const fixed = Object.keys(labels)
  const registers = [registry]
  const byTopic = [...fixed, 'topic']

  const published = new Counter({ name: 'txbox_messages_published_total', help: 'Messages the broker confirmed, removed from the outbox.', labelNames: byTopic, registers })
  const failed = new Counter({ name: 'txbox_messages_failed_total', help: 'Publish attempts that failed and will be retried.', labelNames: byTopic, registers })
  const deadLettered = new Counter({ name: 'txbox_messages_dead_lettered_total', help: 'Messages moved to the dead letters.', labelNames: byTopic, registers })
  const errors = new Counter({
    name: 'txbox_relay_errors_total',
    help: 'Relay errors by kind: cycle (claim, publish or settle failed), promotion, wake-up (the LISTEN connection), broker-unreachable (a batch the broker could not take).',
    labelNames: [...fixed, 'kind'],
    registers,
  })
  const claimSeconds = new Histogram({ name: 'txbox_relay_claim_duration_seconds', help: 'Time of the claim statement of each cycle, empty claims included.', labelNames: fixed, buckets: CLAIM_BUCKETS, registers })
  const publishSeconds = new Histogram({ name: 'txbox_relay_publish_duration_seconds', help: 'Time the broker took to confirm each batch.', labelNames: fixed, buckets: PUBLISH_BUCKETS, registers })
  const batchSize = new Histogram({ name: 'txbox_relay_batch_messages', help: 'Messages claimed per batch (empty claims not counted).', labelNames: fixed, buckets: BATCH_BUCKETS, registers })
  const lastCycle = new Gauge({ name: 'txbox_relay_last_cycle_timestamp_seconds', help: 'When the relay last committed a cycle (Unix time): a relay that stops cycling is stuck.', labelNames: fixed, registers })
  const running = new Gauge({
    name: 'txbox_relay_running',
    help: '1 while the relay loops run.',
    labelNames: fixed,
    registers,
    collect() {
      this.set(labels, relay.running ? 1 : 0)
    },
  })

  // The snapshot is one query, shared by the three gauges of a scrape
  // (prom-client collects them concurrently).
  let snapshot: Promise<RelayMetrics | undefined> | undefined
  const readSnapshot = () => {
    snapshot ??= relay.metrics().then(
      (m) => m,
      () => undefined, // database down: keep the last values; /readyz says why
    )
    void snapshot.then(() => {
      snapshot = undefined
    })
    return snapshot
  }
  const outboxGauge = (name: string, help: string, value: (m: RelayMetrics) => number) =>
    new Gauge({
      name,
      help,
      labelNames: fixed,
      registers,
      async collect() {
        const m = await readSnapshot()
        if (m) this.set(labels, value(m))
      },
    })
  const gauges = [
    outboxGauge('txbox_outbox_backlog_messages', 'Messages waiting in the outbox: ready, delayed or waiting for a retry.', (m) => m.backlog),
    outboxGauge('txbox_outbox_oldest_message_age_seconds', 'Age of the oldest due message (ready, or failed and waiting for its retry): the lag.', (m) => m.oldestAgeMs / 1000),
    outboxGauge('txbox_outbox_dead_letters', 'Messages waiting in the dead letters.', (m) => m.dead),
  ]

  const onPublished: RelayEvents['published'] = ({ messages }) => countByTopic(published, labels, messages)
  const onFailed: RelayEvents['failed'] = ({ message }) => failed.inc({ ...labels, topic: message.topic })
  const onDead: RelayEvents['dead'] = ({ message }) => deadLettered.inc({ ...labels, topic: message.topic })
  const onError: RelayEvents['error'] = (_error, context) => errors.inc({ ...labels, kind: (context?.source ?? 'cycle') satisfies ErrorKind })
  const onUnreachable: RelayEvents['unreachable'] = () => errors.inc({ ...labels, kind: 'broker-unreachable' satisfies ErrorKind })
  const onCycle: RelayEvents['cycle'] = ({ claimed, claimMs, publishMs }) => {
    claimSeconds.observe(labels, claimMs / 1000)
    if (claimed > 0) {
      publishSeconds.observe(labels, publishMs / 1000)
      batchSize.observe(labels, claimed)
    }
    lastCycle.set(labels, Date.now() / 1000)
  }
  // Every listener, so that close() takes off exactly what was put on.
  const listeners: { [E in keyof RelayEvents]?: RelayEvents[E] } = {
    published: onPublished,
    failed: onFailed,
    dead: onDead,
    error: onError,
    unreachable: onUnreachable,
    cycle: onCycle,
  }
  const each = (act: (event: keyof RelayEvents, listener: never) => unknown) => {
    for (const [event, listener] of Object.entries(listeners)) act(event as keyof RelayEvents, listener as never)
  }
  each((event, listener) => relay.on(event, listener))

  const names = [published, failed, deadLettered, errors, claimSeconds, publishSeconds, batchSize, lastCycle, running, ...gauges].map(
    (metric) => (metric as unknown as { name: string }).name,
  )
  let closed = false
  return {
    registry,
    close() {
      if (closed) return
      closed = true
      each((event, listener) => relay.off(event, listener))
      for (const name of names) registry.removeSingleMetric(name)
    },
  }
}

/** One increment per topic of the batch, not one per message: a batch mostly holds few topics. */
function countByTopic(counter: Counter, labels: Readonly<Record<string, string>>, messages: readonly OutboxMessage[]): void {
  const counts = new Map<string, number>()
  for (const { topic } of messages) counts.set(topic, (counts.get(topic) ?? 0) + 1)
  for (const [topic, n] of counts) counter.inc({ ...labels, topic }, n)
}
