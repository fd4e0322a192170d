import type { ConsumerCrashEvent, ConsumerFacts, HandlerCall, PublishedMessage } from './consumer-history.js'
import type { Violation } from './violations.js'

export interface ConsumerCheckReport {
  readonly violations: readonly Violation[]
  readonly notes: readonly string[]
  readonly stats: {
    readonly published: number
    readonly handled: number
    /** Handler runs (attempts), failed ones included. */
    readonly calls: number
    /** Messages handled successfully more than once (allowed without processOnce when a crash explains it). */
    readonly duplicates: number
    readonly dead: number
    readonly crashes: number
  }
}

/**
 * Judges a consumer-half run from the handler's side (docs/adapters/redis.md
 * and rabbitmq.md, "What the consumer does"):
 *
 * - every published message was handled, or is a dead letter (`lost`);
 * - with processOnce, each handled message's effect committed exactly once,
 *   and never for a dead letter (`effect-twice`, `wrongly-dead`);
 * - a dead letter had exactly `maxDeliveries` failed runs and none that
 *   succeeded; no message ran more than `maxDeliveries` times (`wrongly-dead`,
 *   `over-delivered`, `duplicate` for a second dead letter);
 * - without processOnce, a message handled twice only where a crash explains it;
 * - with one consumer (and, on RabbitMQ, prefetch 1), each key's messages
 *   are first handled in publish order (`order`);
 * - `stop()` returned within its bound (`stall`).
 *
 * "A crash explains it": a connection drop or kill of any consumer between
 * the message's publication and its last handler run. A crash makes
 * deliveries the handler never sees (read, not started) and loses acks. A
 * graceful stop explains nothing, except on RabbitMQ a dead letter after
 * fewer runs (see lostDelivery).
 */
export function checkConsumerHistory(facts: ConsumerFacts): ConsumerCheckReport {
  const { config } = facts
  const violations: Violation[] = []
  const add = (kind: Violation['kind'], ns: readonly number[], detail: string) => violations.push({ kind, ns, detail })
  const callsOf = groupBy(facts.calls, (c) => c.n)
  const deadCount = countBy(facts.deadLetters)
  const processedCount = countBy(facts.processed.map((p) => p.n))
  let handled = 0
  let duplicates = 0
  const explainedByCrash: string[] = []

  for (const m of facts.published) {
    const calls = callsOf.get(m.n) ?? []
    const okCalls = calls.filter((c) => c.outcome === 'ok')
    const effects = facts.effects.get(m.n) ?? 0
    const processed = processedCount.get(m.n) ?? 0
    const succeeded = config.processOnce ? processed > 0 || effects > 0 : okCalls.length > 0
    const dead = deadCount.get(m.n) ?? 0
    const lastEnd = Math.max(m.publishedAt, ...calls.map((c) => c.endedAt ?? facts.endedAt))
    // A lost connection or a dead process loses acks and makes deliveries no handler saw.
    const crash = crashBetween(facts.crashes, m.publishedAt, lastEnd, ['drop', 'kill'])
    // RabbitMQ also counts a prefetched message a stop() hands back unstarted (docs: "it still gets a run");
    // a Redis consumer hands its unstarted entries back without spending a delivery.
    // A dead letter's time is unknown (it may come after the last run, or with none): any crash up to the end may explain it.
    const crashUntilEnd = crashBetween(facts.crashes, m.publishedAt, facts.endedAt, ['drop', 'kill'])
    const lostDelivery = config.broker === 'rabbitmq' ? crashBetween(facts.crashes, m.publishedAt, facts.endedAt, ['drop', 'kill', 'stop']) : crashUntilEnd
    const explained = crash ? ` (explained by ${describeCrash(crash)})` : ''
    const failed = calls.filter((c) => c.outcome !== 'ok' && c.outcome !== undefined).length
    const what = `message n=${m.n} (${describeSpec(m)}): ${describeCalls(calls)}`
    if (succeeded) handled += 1

    if (!succeeded && dead === 0) add('lost', [m.n], `${what}; neither handled nor dead-lettered`)
    if (config.processOnce) {
      if (effects > 1 || processed > 1) add('effect-twice', [m.n], `${what}; ${effects} effect row(s), processOnce said processed ${processed} time(s)`)
      if (processed > 0 && effects === 0) add('lost', [m.n], `${what}; processOnce said processed but no effect row committed`)
    } else if (okCalls.length > 1) {
      duplicates += 1
      if (!crash) add('duplicate', [m.n], `${what}; handled successfully ${okCalls.length} times with no crash to explain it`)
    }
    // RabbitMQ's consumer acks a redelivery of what it handled (or processOnce skips it): nothing explains this there.
    // Redis dead-letters an entry delivered more than maxDeliveries times unanswered: a success whose ack a crash lost, then more crashes.
    if (succeeded && dead > 0 && (config.broker === 'rabbitmq' || !crashUntilEnd)) add('wrongly-dead', [m.n], `${what}; dead-lettered although it was handled successfully`)
    if (dead > 1 && !crashUntilEnd) add('duplicate', [m.n], `${what}; dead-lettered ${dead} times`)
    if (dead > 0 && !succeeded && failed < config.maxDeliveries && !lostDelivery) {
      add('wrongly-dead', [m.n], `${what}; dead-lettered after ${failed} failed run(s), maxDeliveries ${config.maxDeliveries}`)
    }
    if (failed > config.maxDeliveries && !crash && !(config.broker === 'rabbitmq' && config.queueType === 'classic' && config.consumers > 1)) {
      add('over-delivered', [m.n], `${what}; ${failed} failed runs, maxDeliveries ${config.maxDeliveries}`)
    }
    if (lostDelivery && (failed > config.maxDeliveries || okCalls.length > 1 || (dead > 0 && (succeeded || failed !== config.maxDeliveries)))) {
      // Allowed, but said: a reader of a passing run sees what the crashes cost.
      explainedByCrash.push(`${what}; dead ${dead}${explained || ` (explained by ${describeCrash(lostDelivery)})`}`)
    }
  }

  checkOrder(facts, callsOf, add)
  for (const stall of facts.stalls) add('stall', [], stall)
  for (const error of facts.harnessErrors) add('harness', [], error)
  return {
    violations,
    notes: explainedByCrash.length > 0 ? [`${explainedByCrash.length} message(s) whose extra runs or dead letter a crash explains, e.g. ${explainedByCrash[0]}`] : [],
    stats: {
      published: facts.published.length,
      handled,
      calls: facts.calls.length,
      duplicates,
      dead: facts.deadLetters.length,
      crashes: facts.crashes.length,
    },
  }
}

/**
 * One consumer handles a stream (or, with prefetch 1, a queue) in order, so
 * each key's first handler runs follow publish order (n order). A later
 * message run first is explained only by a crash between the earlier one's
 * publication and that run: a dropped connection can lose a read's reply,
 * and a consumer restarted under another name leaves what it read pending;
 * those entries then wait for a claim.
 */
function checkOrder(facts: ConsumerFacts, callsOf: Map<number, HandlerCall[]>, add: (kind: Violation['kind'], ns: readonly number[], detail: string) => void): void {
  const { config } = facts
  if (config.consumers !== 1 || (config.broker === 'rabbitmq' && config.batch !== 1)) return
  const byKey = groupBy(
    facts.published.filter((m) => m.key !== null),
    (m) => m.key as number,
  )
  for (const [key, messages] of byKey) {
    const firsts = messages
      .map((m) => ({ m, first: (callsOf.get(m.n) ?? [])[0] }))
      .filter((x): x is { m: PublishedMessage; first: HandlerCall } => x.first !== undefined)
      .sort((a, b) => a.m.n - b.m.n)
    for (let i = 0; i < firsts.length; i++) {
      for (let j = i + 1; j < firsts.length; j++) {
        const earlier = firsts[i] as { m: PublishedMessage; first: HandlerCall }
        const later = firsts[j] as { m: PublishedMessage; first: HandlerCall }
        if (later.first.startedAt >= earlier.first.startedAt) continue
        // A consumer restarted under another name leaves its pending entries to a claim, after newer ones.
        const renamed = facts.crashes.some((c) => c.renamed && c.endedAt >= earlier.m.publishedAt && c.at <= later.first.startedAt)
        if (renamed || crashBetween(facts.crashes, earlier.m.publishedAt, later.first.startedAt, ['drop'])) continue
        add('order', [earlier.m.n, later.m.n], `key k${key}: n=${later.m.n} was first handled at +${later.first.startedAt - earlier.m.publishedAt}ms, before n=${earlier.m.n} published before it (first handled at +${earlier.first.startedAt - earlier.m.publishedAt}ms)`)
        return
      }
    }
  }
}

function crashBetween(crashes: readonly ConsumerCrashEvent[], from: number, to: number, kinds: readonly ConsumerCrashEvent['how'][]): ConsumerCrashEvent | undefined {
  return crashes.find((c) => kinds.includes(c.how) && c.endedAt >= from && c.at <= to)
}

function describeCrash(c: ConsumerCrashEvent): string {
  return `consumer ${c.slot}.${c.life} ${c.how}`
}

function describeSpec(m: PublishedMessage): string {
  const parts = [m.key === null ? 'unkeyed' : `k${m.key}`]
  if (m.spec.fails > 0) parts.push(`fails ${m.spec.fails}× by ${m.spec.failBy}`)
  if (m.spec.slowMs > 0) parts.push(`slow ${m.spec.slowMs}ms`)
  return parts.join(', ')
}

function describeCalls(calls: readonly HandlerCall[]): string {
  if (calls.length === 0) return 'never handled'
  return `runs [${calls.map((c) => `${c.slot}.${c.life}#${c.deliveries}:${c.outcome ?? 'running'}`).join(' ')}]`
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>()
  for (const item of items) {
    const k = key(item)
    const list = map.get(k)
    if (list) list.push(item)
    else map.set(k, [item])
  }
  return map
}

function countBy<K>(items: readonly K[]): Map<K, number> {
  const map = new Map<K, number>()
  for (const item of items) map.set(item, (map.get(item) ?? 0) + 1)
  return map
}
