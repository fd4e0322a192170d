/**
 * What the checker reports. Each kind names a promise of docs/guarantees.md
 * (or a harness problem), so a failure can be classified, and a shrunk
 * reproduction kept only while it still breaks the same promise.
 */
export type ViolationKind =
  /** Committed, never delivered, not dead, not purged. */
  | 'lost'
  /** Delivered although its transaction (or savepoint) rolled back, or it was never written. */
  | 'phantom'
  /** Delivered with another message id or key than written, or a payload that does not parse. */
  | 'corrupted'
  /** A key's first deliveries out of commit order. */
  | 'order'
  /** Delivered more often than timeouts, crashes and closed connections explain. */
  | 'duplicate'
  /** Still in the outbox after clean relays had time to drain it. */
  | 'stuck'
  /** Dead-lettered without a permanent refusal or `maxAttempts` failed attempts. */
  | 'wrongly-dead'
  /** Delivered before its delay was up. */
  | 'early'
  /** A writer's valid input failed with a raw database error (the transaction aborted). */
  | 'writer-error'
  /** Consumer half: a processOnce effect committed more than once. */
  | 'effect-twice'
  /** Consumer half: a message's handler ran more often than `maxDeliveries` without a crash to explain it. */
  | 'over-delivered'
  /** Consumer half: `stop()` did not return within its bound. */
  | 'stall'
  /** The run itself could not finish: something hung or threw. */
  | 'harness'

export interface Violation {
  readonly kind: ViolationKind
  /** The messages involved (their `n`). */
  readonly ns: readonly number[]
  readonly detail: string
}

/** Kinds present, most serious first: a reproduction is shrunk for the first. */
export function kindsOf(violations: readonly Violation[]): ViolationKind[] {
  const order: ViolationKind[] = [
    'lost',
    'phantom',
    'effect-twice',
    'order',
    'corrupted',
    'duplicate',
    'wrongly-dead',
    'over-delivered',
    'early',
    'stuck',
    'stall',
    'writer-error',
    'harness',
  ]
  const present = new Set(violations.map((v) => v.kind))
  return order.filter((k) => present.has(k))
}

/** A few lines per kind: the first examples and how many more. */
export function describeViolations(violations: readonly Violation[], perKind = 3): string {
  const lines: string[] = []
  for (const kind of kindsOf(violations)) {
    const of = violations.filter((v) => v.kind === kind)
    lines.push(`  ${kind} (${of.length}):`)
    for (const v of of.slice(0, perKind)) lines.push(`    - ${v.detail}`)
    if (of.length > perKind) lines.push(`    … and ${of.length - perKind} more`)
  }
  return lines.join('\n')
}
