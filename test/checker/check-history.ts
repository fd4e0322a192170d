import { checkOrder } from './check-order.js'
import { type HistoryIndex, indexHistory, nOf } from './history-index.js'
import type { RelayCall, RunFacts } from './run-history.js'
import type { Violation } from './violations.js'

export interface CheckReport {
  readonly violations: readonly Violation[]
  /** Worth a look, not a violation: dead letter commands that failed, with their output. */
  readonly notes: readonly string[]
  readonly stats: {
    readonly committed: number
    readonly rolledBack: number
    readonly deliveries: number
    readonly duplicates: number
    readonly dead: number
    readonly calls: number
    readonly crashes: number
    readonly commands: number
    /** Dead letter commands that exited non-zero (a serialization failure, a timeout): not a violation, but worth a look. */
    readonly commandsFailed: number
  }
}

/** Clocks of the broker, PostgreSQL and this process are one host's clock; allow for rounding. */
const EARLY_SLACK_MS = 5

/**
 * The history checker: from what the writers did, what each relay's
 * publisher was asked and answered, what crashed, what the operator ran, and
 * what the broker holds in the end, it reports every broken promise. Pure:
 * no I/O, unit-tested with hand-made histories (check-history.test.ts).
 */
export function checkHistory(facts: RunFacts): CheckReport {
  const index = indexHistory(facts)
  const violations: Violation[] = [
    ...checkDeliveries(facts, index),
    ...checkAccounted(facts, index),
    ...checkOrder(facts, index),
    ...checkDuplicates(facts, index),
    ...checkDeadLetters(facts, index),
    ...checkEarly(facts, index),
    ...facts.writerErrors.map((detail) => ({ kind: 'writer-error' as const, ns: [], detail })),
    ...facts.harnessErrors.map((detail) => ({ kind: 'harness' as const, ns: [], detail })),
  ]
  let duplicates = 0
  for (const count of index.deliveryCount.values()) duplicates += count - 1
  return {
    violations,
    notes: facts.commands
      .filter((c) => c.exitCode !== 0)
      .map((c) => `txbox dead ${c.kind} exited ${c.exitCode ?? 'on a timeout'}: ${c.output.slice(0, 600)}`),
    stats: {
      committed: facts.written.filter((w) => w.status === 'committed').length,
      rolledBack: facts.written.filter((w) => w.status === 'rolled-back').length,
      deliveries: facts.deliveries.length,
      duplicates,
      dead: facts.finalDead.length,
      calls: facts.calls.length,
      crashes: facts.crashes.length,
      commands: facts.commands.length,
      commandsFailed: facts.commands.filter((c) => c.exitCode !== 0).length,
    },
  }
}

/** Every delivery is of a committed (or in-doubt) message, as it was written. */
function checkDeliveries(facts: RunFacts, index: HistoryIndex): Violation[] {
  const out: Violation[] = []
  const reported = new Set<number>()
  facts.deliveries.forEach((d, position) => {
    if (d.n === null) {
      out.push({ kind: 'corrupted', ns: [], detail: `delivery #${position} (message id ${d.messageId}) has a payload without n` })
      return
    }
    if (reported.has(d.n)) return
    const w = index.byN.get(d.n)
    if (!w) {
      reported.add(d.n)
      out.push({ kind: 'phantom', ns: [d.n], detail: `delivery #${position}: n=${d.n} was never written` })
    } else if (w.status !== 'committed' && w.status !== 'in-doubt') {
      reported.add(d.n)
      out.push({ kind: 'phantom', ns: [d.n], detail: `delivery #${position}: n=${d.n} (${w.messageId}) was ${w.status}` })
    } else if (w.messageId !== d.messageId || w.key !== d.key) {
      reported.add(d.n)
      out.push({
        kind: 'corrupted',
        ns: [d.n],
        detail: `delivery #${position}: n=${d.n} written as ${w.messageId} key ${w.key}, delivered as ${d.messageId} key ${d.key}`,
      })
    }
  })
  return out
}

/**
 * Every committed message ends delivered (its last life, after the dead
 * retry that began it), dead, or purged; a row left in the outbox is stuck.
 */
function checkAccounted(facts: RunFacts, index: HistoryIndex): Violation[] {
  const out: Violation[] = []
  for (const w of facts.written) {
    if (w.status !== 'committed' || index.finalDead.has(w.n) || index.accountedFor.has(w.n) || index.leftover.has(w.n)) continue
    const lives = index.incarnations.get(w.n) ?? []
    const last = lives.at(-1)
    const lastDelivery = lastDeliveryAt(facts, w.n)
    if (lastDelivery === undefined) {
      const how = lives.length > 1 ? 'taken from the dead letters by dead retry, never delivered' : 'committed, never delivered, not dead, not purged'
      out.push({ kind: 'lost', ns: [w.n], detail: `n=${w.n} (${w.messageId}, key ${w.key}) ${how}` })
    } else if (last && lastDelivery < last.mark) {
      out.push({
        kind: 'lost',
        ns: [w.n],
        detail: `n=${w.n} (${w.messageId}) moved back by dead retry (life ${lives.length}), never delivered afterwards, not dead`,
      })
    }
  }
  for (const row of facts.leftovers) {
    out.push({
      kind: 'stuck',
      ns: row.n === null ? [] : [row.n],
      detail: `n=${row.n} (${row.messageId}) still in the outbox: attempts ${row.attempts}, available_at ${row.availableAt}, last error ${row.lastError}`,
    })
  }
  return out
}

function lastDeliveryAt(facts: RunFacts, n: number): number | undefined {
  for (let i = facts.deliveries.length - 1; i >= 0; i--) if (facts.deliveries[i]?.n === n) return i
  return undefined
}

/**
 * A message is delivered at most once per attempt whose outcome the relay
 * could not know (a late or failed answer from a broker that may have it, a
 * closed connection, a crash around the call), plus once for its last,
 * clean publish.
 */
function checkDuplicates(facts: RunFacts, index: HistoryIndex): Violation[] {
  const out: Violation[] = []
  for (const [n, count] of index.deliveryCount) {
    if (count <= 1) continue
    const explained = (index.callsOf.get(n) ?? []).filter((call) => {
      const record = call.messages.find((m) => nOf(m.message.payload) === n)
      if (!record?.forwarded) return false
      const clean = record.inner === 'ok' && record.reported === 'ok' && !call.timedOut
      return !clean || call.connectionClosed || index.crashSuspect.has(call)
    }).length
    if (count - 1 > explained) {
      const calls = index.callsOf.get(n) ?? []
      out.push({
        kind: 'duplicate',
        ns: [n],
        detail: `n=${n} delivered ${count} times; ${explained} attempt(s) explain a repeat (${calls.length} call(s): ${calls.map((c) => describeCall(facts, c)).join('; ')})`,
      })
    }
  }
  return out
}

/** A call, and the first error its relay reported right after it (why its batch may not have committed). */
function describeCall(facts: RunFacts, call: RelayCall): string {
  const flags = [call.timedOut && 'timed out', call.connectionClosed && 'connection closed', call.fault && `fault ${call.fault.kind}`].filter(Boolean)
  const error = facts.relayErrors?.find((e) => e.relay === call.relay && e.generation === call.generation && e.at >= call.endedAt && e.at <= call.endedAt + 2000)
  if (error) flags.push(`then relay error "${error.message}"`)
  return `relay ${call.relay}.${call.generation} +${call.endedAt - call.startedAt}ms${flags.length ? ` (${flags.join(', ')})` : ''}`
}

/**
 * A dead letter is justified by a permanent refusal the relay heard in time,
 * or by `maxAttempts` failed attempts in that life. Counted generously (a
 * crashed relay's attempt counts too): what is left is certainly wrong.
 * For a plain message (no odd input), only failures a fault explains count:
 * the run's brokers are healthy, so a plain message the real publisher keeps
 * failing is paying for a neighbour (an odd message in its calls).
 */
function checkDeadLetters(facts: RunFacts, index: HistoryIndex): Violation[] {
  const out: Violation[] = []
  const deaths = new Map<number, number[]>(index.deathsOf as Map<number, number[]>)
  // A dead letter whose death event was not seen: judge all its calls.
  for (const n of index.finalDead) if (!deaths.has(n)) deaths.set(n, [Number.POSITIVE_INFINITY])
  for (const [n, times] of deaths) {
    const w = index.byN.get(n)
    const plain = w !== undefined && w.odd === undefined
    // Each death ends one life (a dead retry moves back what a death put in the dead letters),
    // so a life's attempts are the calls between the death before it and its own.
    const sorted = [...times].sort((a, b) => a - b)
    for (const [i, at] of sorted.entries()) {
      const from = i === 0 ? Number.NEGATIVE_INFINITY : (sorted[i - 1] as number)
      let failures = 0
      let explained = 0
      let permanent = false
      for (const call of index.callsOf.get(n) ?? []) {
        if (call.startedAt <= from || call.startedAt > at) continue
        const record = call.messages.find((m) => nOf(m.message.payload) === n)
        if (!record || record.reported === 'held-back') continue
        if (!call.timedOut && record.reported === 'permanent') permanent = true
        if (!call.timedOut && record.reported === 'ok') continue
        failures += 1
        if (!record.forwarded || call.timedOut || call.connectionClosed || call.fault !== undefined || afterClosedConnection(facts, call)) explained += 1
      }
      if (permanent) continue
      if (failures < facts.maxAttempts) {
        out.push({ kind: 'wrongly-dead', ns: [n], detail: `n=${n} (${w?.messageId}) dead after ${failures} failed attempt(s) of ${facts.maxAttempts} and no permanent refusal` })
      } else if (plain && explained < facts.maxAttempts) {
        out.push({
          kind: 'wrongly-dead',
          ns: [n],
          detail: `n=${n} (${w?.messageId}), a plain message, dead after ${failures} failed attempt(s), ${failures - explained} of them failed by the real publisher with no fault to explain it (a neighbour's?)`,
        })
      }
    }
  }
  return out
}

/** How long a publisher may take to reconnect after its connection was closed: calls meanwhile fail for that. */
const RECONNECT_MS = 10_000

function afterClosedConnection(facts: RunFacts, call: RelayCall): boolean {
  return facts.calls.some(
    (c) => c.connectionClosed && c.relay === call.relay && c.generation === call.generation && c.startedAt <= call.startedAt && call.startedAt <= c.endedAt + RECONNECT_MS,
  )
}

function checkEarly(facts: RunFacts, index: HistoryIndex): Violation[] {
  const out: Violation[] = []
  for (const w of facts.written) {
    if (w.status !== 'committed' || w.delayMs <= 0) continue
    const first = index.firstAt.get(w.n)
    const delivery = first === undefined ? undefined : facts.deliveries[first]
    if (delivery && delivery.at < w.enqueuedAt + w.delayMs - EARLY_SLACK_MS) {
      out.push({ kind: 'early', ns: [w.n], detail: `n=${w.n} delayed ${w.delayMs} ms, delivered ${w.enqueuedAt + w.delayMs - delivery.at} ms early` })
    }
  }
  return out
}
