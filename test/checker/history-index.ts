import type { DeadSelection, Rank, RelayCall, RunFacts, WrittenMessage } from './run-history.js'

/**
 * Where a message's life sits in its key's order: its commit rank, or, for a
 * life that `txbox dead retry` started, somewhere between the tickets taken
 * just before and just after the command (it takes the key lock in between).
 */
export type Position = { readonly point: Rank } | { readonly after: number; readonly before: number }

/** One life of a message: from its commit, or from a dead retry that moved it back. */
export interface Incarnation {
  readonly position: Position | null
  /** Deliveries at or after this broker position may belong to it (0 for the first). */
  readonly mark: number
}

/** What the checks need, derived once from the facts. Pure. */
export interface HistoryIndex {
  readonly byN: ReadonlyMap<number, WrittenMessage>
  /** Broker position of each message's first delivery. */
  readonly firstAt: ReadonlyMap<number, number>
  readonly deliveryCount: ReadonlyMap<number, number>
  readonly incarnations: ReadonlyMap<number, readonly Incarnation[]>
  /** Removed by `dead purge`, or possibly by a command whose snapshot missed them: not lost if absent. */
  readonly accountedFor: ReadonlySet<number>
  /** Died while a command that selects them ran: whether it moved them is unknown, so no order claim. */
  readonly operatorAmbiguous: ReadonlySet<number>
  /** Calls a relay crash can have left half done (its transaction rolled back after, or while, it published). */
  readonly crashSuspect: ReadonlySet<RelayCall>
  /** Calls that carried each message. */
  readonly callsOf: ReadonlyMap<number, readonly RelayCall[]>
  readonly deathsOf: ReadonlyMap<number, readonly number[]>
  readonly finalDead: ReadonlySet<number>
  readonly leftover: ReadonlySet<number>
}

/** Slack around a crash for calls whose transaction it may have hit: a batch lasts at most the publish timeout, plus settle and commit. */
const CRASH_SLACK_MS = 1000
/** A relay's 'dead' event follows its COMMIT by a turn of the event loop; allow for a loaded machine. */
const EVENT_SLACK_MS = 1000

export function indexHistory(facts: RunFacts): HistoryIndex {
  const byN = new Map(facts.written.map((w) => [w.n, w]))
  const firstAt = new Map<number, number>()
  const deliveryCount = new Map<number, number>()
  facts.deliveries.forEach((d, position) => {
    if (d.n === null) return
    if (!firstAt.has(d.n)) firstAt.set(d.n, position)
    deliveryCount.set(d.n, (deliveryCount.get(d.n) ?? 0) + 1)
  })

  const deathsOf = new Map<number, number[]>()
  for (const death of facts.deaths) push(deathsOf, death.n, death.at)

  const incarnations = new Map<number, Incarnation[]>()
  for (const w of facts.written) {
    if (w.status === 'committed') incarnations.set(w.n, [{ position: w.rank ? { point: w.rank } : null, mark: 0 }])
  }
  const accountedFor = new Set<number>()
  const operatorAmbiguous = new Set<number>()
  for (const command of facts.commands) {
    const after = new Set(command.after)
    const before = new Set(command.before)
    for (const n of command.before) {
      if (after.has(n)) continue
      if (command.kind === 'purge') accountedFor.add(n)
      else incarnations.get(n)?.push({ position: { after: command.ticketBefore, before: command.ticketAfter }, mark: command.mark })
    }
    for (const [n, times] of deathsOf) {
      const w = byN.get(n)
      if (!w || before.has(n) || after.has(n) || !selects(command.selection, w)) continue
      if (times.some((at) => at >= command.startedAt - EVENT_SLACK_MS && at <= command.endedAt + EVENT_SLACK_MS)) {
        operatorAmbiguous.add(n)
        accountedFor.add(n)
      }
    }
  }

  const callsOf = new Map<number, RelayCall[]>()
  for (const call of facts.calls) {
    for (const m of call.messages) {
      const n = nOf(m.message.payload)
      if (n !== null) push(callsOf, n, call)
    }
  }

  return {
    byN,
    firstAt,
    deliveryCount,
    incarnations,
    accountedFor,
    operatorAmbiguous,
    crashSuspect: crashSuspectCalls(facts),
    callsOf,
    deathsOf,
    finalDead: new Set(facts.finalDead),
    leftover: new Set(facts.leftovers.flatMap((r) => (r.n === null ? [] : [r.n]))),
  }
}

/** Whether `command`'s selection takes `w`'s dead letter. */
export function selects(selection: DeadSelection, w: WrittenMessage): boolean {
  if ('all' in selection) return true
  if ('topic' in selection) return selection.topic === w.topic
  return selection.ids.includes(w.messageId)
}

/**
 * Calls a crash may have cut off from their transaction: in flight at the
 * crash, or started soon after it on the same life (a batch claimed just
 * before the crash, its later waves). An abandoned life's calls after the
 * crash all are.
 */
function crashSuspectCalls(facts: RunFacts): Set<RelayCall> {
  const slack = facts.publishTimeoutMs + CRASH_SLACK_MS
  const out = new Set<RelayCall>()
  for (const call of facts.calls) {
    for (const crash of facts.crashes) {
      if (crash.relay !== call.relay || crash.generation !== call.generation) continue
      if (call.endedAt < crash.at - slack) continue
      if (crash.restart || call.startedAt <= crash.at + slack) out.add(call)
    }
  }
  return out
}

/** The call's messages are OutboxMessages: their payload is the JSON text with `n`. */
export function nOf(payload: string): number | null {
  const match = /"n"\s*:\s*(\d+)/.exec(payload)
  return match ? Number(match[1]) : null
}

/** Whether position `a` certainly comes before `b` in their key's order. */
export function certainlyBefore(a: Position, b: Position): boolean {
  const lo = (p: Position) => ('point' in p ? p.point.ticket : p.after)
  const hi = (p: Position) => ('point' in p ? p.point.ticket : p.before)
  if ('point' in a && 'point' in b) return a.point.ticket < b.point.ticket || (a.point.ticket === b.point.ticket && a.point.index < b.point.index)
  // Tickets are unique: a window and a point, or two windows, never share one.
  return hi(a) < lo(b)
}

/** The life a delivery at broker position `at` can belong to: the last one begun by then. */
export function incarnationAt(incarnations: readonly Incarnation[], at: number): Incarnation | undefined {
  let found: Incarnation | undefined
  for (const inc of incarnations) if (inc.mark <= at) found = inc
  return found
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}
