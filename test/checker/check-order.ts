import { certainlyBefore, type HistoryIndex, incarnationAt, nOf, type Position } from './history-index.js'
import type { RunFacts, WrittenMessage } from './run-history.js'
import type { Violation } from './violations.js'

/**
 * Per-key order, judged on first deliveries.
 *
 * For a message x first delivered by its life L, every message w of its key
 * whose LAST life ended published and certainly comes before L in commit
 * order must have been first delivered before x. Why last lives only: a life
 * that ended dead gives up its place (the key moves on without it), and a
 * dead letter moved back by `txbox dead retry` rejoins at the end of its key.
 *
 * Left out, because nothing orders them: delayed messages (they join their
 * key's order when due), rows written by hand (no key lock), messages a dead
 * letter command may or may not have moved, messages that died after a
 * crashed relay may still have been publishing them; and with
 * `blockKeyOnFailure: false`, every message that ever failed (it is retried
 * after its key's later messages, by design).
 */
export function checkOrder(facts: RunFacts, index: HistoryIndex): Violation[] {
  const exempt = orderExempt(facts, index)
  const byKey = new Map<string, WrittenMessage[]>()
  for (const w of facts.written) {
    if (w.status !== 'committed' || w.key === null || exempt.has(w.n)) continue
    const list = byKey.get(w.key)
    if (list) list.push(w)
    else byKey.set(w.key, [w])
  }
  const violations: Violation[] = []
  for (const [key, messages] of byKey) {
    const publishedLast = new Map<number, Position>()
    for (const w of messages) {
      const last = index.incarnations.get(w.n)?.at(-1)
      if (last?.position && endedPublished(w.n, index)) publishedLast.set(w.n, last.position)
    }
    for (const x of messages) {
      const first = index.firstAt.get(x.n)
      if (first === undefined) continue
      const life = incarnationAt(index.incarnations.get(x.n) ?? [], first)
      if (!life?.position) continue
      for (const w of messages) {
        if (w.n === x.n) continue
        const lastW = publishedLast.get(w.n)
        if (!lastW || !certainlyBefore(lastW, life.position)) continue
        const firstW = index.firstAt.get(w.n) as number
        if (firstW < first) continue
        violations.push({
          kind: 'order',
          ns: [x.n, w.n],
          detail: `key ${shortKey(key)}: n=${x.n} (${describe(life.position)}) first delivered at #${first}, before n=${w.n} (${describe(lastW)}), first delivered at #${firstW}`,
        })
      }
    }
  }
  return violations
}

/** Delivered, and neither dead, purged nor left in the outbox at the end. */
function endedPublished(n: number, index: HistoryIndex): boolean {
  return index.firstAt.has(n) && !index.finalDead.has(n) && !index.accountedFor.has(n) && !index.leftover.has(n)
}

function orderExempt(facts: RunFacts, index: HistoryIndex): Set<number> {
  const exempt = new Set<number>(index.operatorAmbiguous)
  for (const w of facts.written) if (w.delayMs > 0 || w.raw) exempt.add(w.n)
  for (const [n, calls] of index.callsOf) {
    const died = index.deathsOf.has(n)
    if (died && calls.some((c) => index.crashSuspect.has(c))) exempt.add(n)
    if (!facts.blockKeyOnFailure && (died || calls.some((c) => c.timedOut || c.messages.some((m) => nOf(m.message.payload) === n && m.reported !== 'ok')))) {
      exempt.add(n)
    }
  }
  return exempt
}

function describe(p: Position): string {
  return 'point' in p ? `commit #${p.point.ticket}.${p.point.index}` : `retried between #${p.after} and #${p.before}`
}

/** The run's key names end in `-k<index>.<suffix>`: the index is what the scenario calls the key. */
function shortKey(key: string): string {
  return /-(k\d+)\.\d+$/.exec(key)?.[1] ?? key
}
