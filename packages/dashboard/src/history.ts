import type { OutboxMessage, Relay, RelayEvents } from '@txbox/core'
import type { Kysely } from 'kysely'
import type { OutboxTables } from './queries/outbox-tables.js'
import { readTableActivity, type TableActivity } from './queries/table-activity.js'
import { readTopicSnapshots, type TopicSnapshot } from './queries/topic-snapshot.js'

/** The charts keep one hour. */
export const HISTORY_MS = 60 * 60 * 1000

/** One point of the charts. */
export interface HistoryPoint {
  /** Unix time in ms. */
  readonly at: number
  /** Each topic's numbers at that time. */
  readonly topics: Readonly<Record<string, Pick<TopicSnapshot, 'waiting' | 'oldestAgeMs' | 'retrying' | 'dead'>>>
  /**
   * Messages published since the previous point, all topics, from
   * PostgreSQL's statistics (rows deleted from the outbox less rows moved to
   * the dead letters); null for the first point or after a statistics reset.
   */
  readonly published: number | null
  /** Per topic, published and failed since the previous point: counted from the relays given to the dashboard (else absent). */
  readonly relayCounts?: Readonly<Record<string, { published: number; failed: number }>>
}

/**
 * Samples the outbox every `intervalMs` and keeps an hour of points in
 * memory: the dashboard needs no table of its own, and a page load reads the
 * last point instead of scanning the outbox again. The timer is unref'd: it
 * never keeps a process alive.
 */
export class History {
  readonly #points: HistoryPoint[] = []
  readonly #counts = new Map<string, { published: number; failed: number }>()
  readonly #detach: (() => void)[] = []
  #lastActivity: TableActivity | undefined
  #latest: { at: number; topics: readonly TopicSnapshot[] } | undefined
  #timer: NodeJS.Timeout | undefined
  #sampling: Promise<void> | undefined
  #closed = false

  constructor(
    private readonly db: Kysely<any>,
    private readonly tables: OutboxTables,
    private readonly intervalMs: number,
    private readonly relays: readonly Relay[],
    private readonly onError: (error: unknown) => void,
  ) {
    for (const relay of relays) this.#countEvents(relay)
  }

  /** Whether the points carry per-topic publish counts (relays were given). */
  get countsPerTopic(): boolean {
    return this.relays.length > 0
  }

  /** Takes the first point now, then one every interval. */
  start(): Promise<void> {
    const first = this.sample()
    this.#timer = setInterval(() => void this.sample(), this.intervalMs)
    this.#timer.unref()
    return first
  }

  /** The topics as the last sample found them (undefined before the first one). */
  latest(): { at: number; topics: readonly TopicSnapshot[] } | undefined {
    return this.#latest
  }

  /** The points of the last hour, oldest first. */
  points(): readonly HistoryPoint[] {
    return this.#points
  }

  /** Takes a point (one at a time: a slow database does not pile samples up). */
  sample(): Promise<void> {
    this.#sampling ??= this.#takePoint()
      .catch(this.onError)
      .finally(() => {
        this.#sampling = undefined
      })
    return this.#sampling
  }

  /** Stops sampling and counting. Idempotent; resolves once a sample in flight ended. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    for (const detach of this.#detach.splice(0)) detach()
    await this.#sampling
  }

  async #takePoint(): Promise<void> {
    if (this.#closed) return
    const [topics, activity] = await Promise.all([readTopicSnapshots(this.db, this.tables), readTableActivity(this.db, this.tables)])
    const previous = this.#lastActivity
    this.#lastActivity = activity
    const removed = previous === undefined ? null : activity.outboxDeleted - previous.outboxDeleted - (activity.deadInserted - previous.deadInserted)
    const at = Date.now()
    this.#latest = { at, topics }
    const point: HistoryPoint = {
      at,
      topics: Object.fromEntries(topics.map((t) => [t.topic, { waiting: t.waiting, oldestAgeMs: t.oldestAgeMs, retrying: t.retrying, dead: t.dead }])),
      // Negative after pg_stat_reset(): unknown rather than wrong.
      published: removed === null || removed < 0 ? null : removed,
      ...(this.countsPerTopic ? { relayCounts: Object.fromEntries(this.#counts) } : {}),
    }
    this.#counts.clear()
    this.#points.push(point)
    while (this.#points.length > 0 && (this.#points[0] as HistoryPoint).at < at - HISTORY_MS) this.#points.shift()
  }

  #countEvents(relay: Relay): void {
    const count = (message: OutboxMessage, field: 'published' | 'failed') => {
      const entry = this.#counts.get(message.topic) ?? { published: 0, failed: 0 }
      entry[field]++
      this.#counts.set(message.topic, entry)
    }
    const onPublished: RelayEvents['published'] = ({ messages }) => {
      for (const message of messages) count(message, 'published')
    }
    const onFailed: RelayEvents['failed'] = ({ message }) => count(message, 'failed')
    const onDead: RelayEvents['dead'] = ({ message }) => count(message, 'failed')
    relay.on('published', onPublished)
    relay.on('failed', onFailed)
    relay.on('dead', onDead)
    this.#detach.push(() => {
      relay.off('published', onPublished)
      relay.off('failed', onFailed)
      relay.off('dead', onDead)
    })
  }
}
