/**
 * The invariant checker every fault scenario ends with: from what the writers
 * committed and rolled back, and what the broker received, it reports
 * what the outbox promises never happens (lost, phantom, per-key order
 * broken) and what it allows (duplicates, at least once).
 *
 * Pure logic: no I/O, so it is unit-tested with hand-made histories.
 */

/** One message a writer enqueued. */
export interface WrittenMessage {
  readonly messageId: string
  /** Ordering key; null for unordered messages. */
  readonly key: string | null
}

/** What the writers did, recorded as they did it. */
export interface WriterHistory {
  /**
   * Messages of committed transactions, in commit order per key (the order
   * across keys does not matter). txbox serialises same-key writers with an
   * advisory lock taken at enqueue, so a writer learns its place when its
   * first INSERT of the key returns (see WriterLedger for why the order in
   * which COMMIT returns is not it).
   */
  readonly committed: readonly WrittenMessage[]
  /** Message ids of transactions (or savepoints) that rolled back. */
  readonly rolledBack: readonly string[]
  /**
   * Message ids whose transaction's outcome is unknown to the writer (its
   * COMMIT failed with the connection). Either delivered or not is fine.
   */
  readonly inDoubt?: readonly string[]
}

/** One message as the broker received it. */
export interface Delivery {
  readonly messageId: string
}

export interface OrderViolation {
  readonly key: string
  /** Committed later, but first delivered earlier. */
  readonly overtaker: string
  /** Committed earlier on the same key, first delivered after `overtaker`. */
  readonly overtaken: string
}

export interface InvariantReport {
  readonly committed: number
  readonly rolledBack: number
  readonly deliveries: number
  /** Committed but never delivered. */
  readonly lost: readonly string[]
  /** Delivered although their transaction rolled back, or never written at all. */
  readonly phantom: readonly string[]
  /** Pairs of one key whose first deliveries came out of commit order. */
  readonly orderViolations: readonly OrderViolation[]
  /** Deliveries beyond the first of each message. */
  readonly duplicates: number
  /** True when lost, phantom and order violations are all empty. */
  readonly ok: boolean
}

/**
 * Checks `deliveries` (in arrival order) against `history`.
 *
 * Order is judged on first deliveries: a redelivery after a crash repeats
 * messages the broker already has, which at-least-once allows; what must hold
 * is that, per key, each message first arrives after every message committed
 * before it on that key.
 */
export function checkInvariants(history: WriterHistory, deliveries: readonly Delivery[]): InvariantReport {
  const committed = new Map<string, { key: string | null; rank: number }>()
  history.committed.forEach((m, rank) => {
    if (committed.has(m.messageId)) throw new Error(`checkInvariants: message ${m.messageId} recorded as committed twice`)
    committed.set(m.messageId, { key: m.key, rank })
  })
  const rolledBack = new Set(history.rolledBack)
  for (const id of rolledBack) {
    if (committed.has(id)) throw new Error(`checkInvariants: message ${id} recorded as both committed and rolled back`)
  }
  const inDoubt = new Set(history.inDoubt ?? [])

  const seen = new Set<string>()
  const phantom: string[] = []
  let duplicates = 0
  // Per key, the highest commit rank first-delivered so far, and its message.
  const latestPerKey = new Map<string, { rank: number; messageId: string }>()
  const orderViolations: OrderViolation[] = []

  for (const { messageId } of deliveries) {
    if (seen.has(messageId)) {
      duplicates += 1
      continue
    }
    seen.add(messageId)
    const entry = committed.get(messageId)
    if (!entry) {
      if (!inDoubt.has(messageId)) phantom.push(messageId)
      continue
    }
    if (entry.key === null) continue
    const latest = latestPerKey.get(entry.key)
    if (latest && latest.rank > entry.rank) {
      orderViolations.push({ key: entry.key, overtaker: latest.messageId, overtaken: messageId })
      continue
    }
    latestPerKey.set(entry.key, { rank: entry.rank, messageId })
  }

  const lost = history.committed.filter((m) => !seen.has(m.messageId)).map((m) => m.messageId)
  return {
    committed: history.committed.length,
    rolledBack: rolledBack.size,
    deliveries: deliveries.length,
    lost,
    phantom,
    orderViolations,
    duplicates,
    ok: lost.length === 0 && phantom.length === 0 && orderViolations.length === 0,
  }
}

/** One line of figures for a scenario's log. */
export function formatReport(scenario: string, report: InvariantReport, extra: Record<string, string | number> = {}): string {
  const figures: Record<string, string | number> = {
    committed: report.committed,
    rolledBack: report.rolledBack,
    deliveries: report.deliveries,
    lost: report.lost.length,
    phantom: report.phantom.length,
    orderViolations: report.orderViolations.length,
    duplicates: report.duplicates,
    ...extra,
  }
  return `[fault] ${scenario}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`
}
