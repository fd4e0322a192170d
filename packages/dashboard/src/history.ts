import type { OutboxMessage, Relay, RelayEvents } from '@txbox/core'
import type { Kysely } from 'kysely'
import type { OutboxTables } from './queries/outbox-tables.js'
import { readTableActivity, type TableActivity } from './queries/table-activity.js'
import { readTopicSnapshots, type TopicSnapshot } from './queries/topic-snapshot.js'

/** The charts keep one hour. */
export const HISTORY_MS = 60 * 60 * 1000

/** A line of a chart: one topic's value at each point (0 where the topic had none). */
export interface ChartLine {
  readonly topic: string
  readonly values: readonly number[]
}

/** What the charts draw: the points' times and, per chart, the topics charted. */
export interface ChartHistory {
  /** Unix time in ms of each point, oldest first. */
  readonly at: readonly number[]
  /** Waiting messages of the topics with the most waiting now (at most `lines`). */
  readonly backlog: readonly ChartLine[]
  /** Age of the oldest due message, in ms, of the topics with the oldest now (at most `lines`). */
  readonly age: readonly ChartLine[]
  /**
   * Messages published since the previous point, all topics, from
   * PostgreSQL's statistics (rows deleted from the outbox less rows moved to
   * the dead letters); null for the first point or after a statistics reset.
   */
  readonly published: readonly (number | null)[]
  /** Published and failed since the previous point, all topics, counted from the relays given to the dashboard (else absent). */
  readonly relayPublished?: readonly number[]
  readonly relayFailed?: readonly number[]
}

/** One topic's values over the points kept, aligned with the points' times. */
interface TopicSeries {
  readonly waiting: number[]
  readonly ageMs: number[]
}

/**
 * Samples the outbox every `intervalMs` and keeps an hour of points in
 * memory: the dashboard needs no table of its own, and a page load reads the
 * last point instead of scanning the outbox again. The timer is unref'd: it
 * never keeps a process alive.
 *
 * Kept by column (one array of numbers per topic and value): with thousands
 * of topics an hour of points stays some megabytes, and the page is sent
 * only the lines it charts, not every topic at every point.
 */
export class History {
  readonly #at: number[] = []
  readonly #published: (number | null)[] = []
  readonly #relayPublished: number[] = []
  readonly #relayFailed: number[] = []
  readonly #topics = new Map<string, TopicSeries>()
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

  /** The last hour for the charts: for each, the `lines` topics largest at the last point (ties by name). */
  chart(lines: number): ChartHistory {
    const top = (field: keyof TopicSeries): ChartLine[] =>
      [...this.#topics]
        .map(([topic, series]) => ({ topic, values: series[field] }))
        .sort((a, b) => (b.values.at(-1) ?? 0) - (a.values.at(-1) ?? 0) || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
        .slice(0, lines)
    return {
      at: this.#at,
      backlog: top('waiting'),
      age: top('ageMs'),
      published: this.#published,
      ...(this.countsPerTopic ? { relayPublished: this.#relayPublished, relayFailed: this.#relayFailed } : {}),
    }
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
    this.#at.push(at)
    // Negative after pg_stat_reset(): unknown rather than wrong.
    this.#published.push(removed === null || removed < 0 ? null : removed)
    if (this.countsPerTopic) {
      let published = 0
      let failed = 0
      for (const c of this.#counts.values()) {
        published += c.published
        failed += c.failed
      }
      this.#relayPublished.push(published)
      this.#relayFailed.push(failed)
    }
    this.#counts.clear()
    const points = this.#at.length
    const seen = new Set<string>()
    for (const t of topics) {
      let series = this.#topics.get(t.topic)
      if (series === undefined) {
        // Nothing to draw (dead letters only): not kept.
        if (t.waiting === 0 && t.oldestAgeMs === 0) continue
        // A topic first seen now had nothing before.
        series = { waiting: new Array(points - 1).fill(0), ageMs: new Array(points - 1).fill(0) }
        this.#topics.set(t.topic, series)
      }
      series.waiting.push(t.waiting)
      series.ageMs.push(t.oldestAgeMs)
      seen.add(t.topic)
    }
    for (const [topic, series] of this.#topics) {
      if (seen.has(topic)) continue
      series.waiting.push(0)
      series.ageMs.push(0)
    }
    this.#dropOlderThan(at - HISTORY_MS)
  }

  /** Drops the points older than `limit`, and the topics with nothing left in the hour. */
  #dropOlderThan(limit: number): void {
    let old = 0
    while (old < this.#at.length && (this.#at[old] as number) < limit) old++
    if (old === 0) return
    for (const column of [this.#at, this.#published, this.#relayPublished, this.#relayFailed]) column.splice(0, old)
    for (const [topic, series] of this.#topics) {
      series.waiting.splice(0, old)
      series.ageMs.splice(0, old)
      if (series.waiting.every((n) => n === 0) && series.ageMs.every((n) => n === 0)) this.#topics.delete(topic)
    }
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
