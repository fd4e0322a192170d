import type { PublishFault } from '@txbox/testing'
import type { Action, BrokerKind, MessageSpec, RunConfig, Scenario, WriterStep } from './scenario-model.js'
import { SeededRandom } from './seeded-random.js'

export interface GenerateOptions {
  /** Fix the broker instead of drawing it. */
  readonly broker?: BrokerKind
  /** How many actions (default: 15 to 45). */
  readonly actions?: number
}

export const WRITERS = 3
/** Caller-chosen message ids shared by the whole run: idempotency keys that collide. */
export const REUSED_IDS = 3

/** The scenario of `seed`: the same seed always gives the same scenario. */
export function generateScenario(seed: number, options: GenerateOptions = {}): Scenario {
  const rng = new SeededRandom(seed)
  const config = generateConfig(rng, options.broker)
  const count = options.actions ?? rng.int(15, 45)
  const actions: Action[] = []
  for (let i = 0; i < count; i++) actions.push(generateAction(rng, config))
  return { seed, config, actions }
}

function generateConfig(rng: SeededRandom, broker: BrokerKind | undefined): RunConfig {
  const relays = rng.weighted({ one: 25, two: 35, three: 25, four: 15 })
  const count = { one: 1, two: 2, three: 3, four: 4 }[relays]
  const publishTimeoutMs = rng.pick([400, 700, 1000])
  // Drawn even when fixed, so that a seed is the same scenario whichever way it was run.
  const drawn: BrokerKind = rng.chance(0.5) ? 'redis' : 'rabbitmq'
  return {
    broker: broker ?? drawn,
    relays: Array.from({ length: count }, () => rng.int(1, 3)),
    blockKeyOnFailure: rng.chance(0.8),
    batchSize: rng.pick([1, 2, 3, 5, 10]),
    publishTimeoutMs,
    maxAttempts: rng.int(2, 5),
    keys: rng.int(1, 4),
    oddInputs: rng.chance(0.25),
    settings: {
      serializable: rng.chance(0.4),
      // Shorter than the publish timeout: a slow broker then outlasts the server's patience.
      idleInTransactionMs: rng.chance(0.4) ? rng.pick([150, 300]) : null,
      statementTimeoutMs: rng.chance(0.25) ? rng.pick([200, 1000]) : null,
    },
  }
}

function generateAction(rng: SeededRandom, config: RunConfig): Action {
  const kind = rng.weighted({ tx: 50, pause: 12, fault: 14, poison: 4, crash: 5, retry: 4, purge: 2, raw: 2, quiesce: 3 })
  switch (kind) {
    case 'tx':
      return generateTransaction(rng, config)
    case 'pause':
      return { t: 'pause', ms: rng.int(20, 400) }
    case 'fault':
      return { t: 'fault', relay: rng.int(0, 3), fault: generateFault(rng, config) }
    case 'poison':
      return {
        t: 'poison',
        target: rng.chance(0.6) ? { key: rng.int(0, config.keys - 1) } : { reuse: rng.int(0, REUSED_IDS - 1) },
        permanent: rng.chance(0.4),
        times: rng.int(1, config.maxAttempts + 1),
      }
    case 'crash':
      return { t: 'crash', relay: rng.int(0, 3), restart: rng.chance(0.4) }
    case 'retry':
      return { t: 'dead-retry', select: rng.chance(0.7) ? 'ids' : 'all' }
    case 'purge':
      return { t: 'dead-purge', select: rng.chance(0.6) ? 'ids' : 'topic' }
    case 'raw':
      return { t: 'raw', nullHeaders: rng.chance(0.5) }
    case 'quiesce':
      return { t: 'quiesce' }
  }
}

function generateFault(rng: SeededRandom, config: RunConfig): PublishFault {
  switch (rng.weighted({ late: 25, slow: 20, refuse: 30, throw: 15, close: 10 })) {
    case 'late':
      return { kind: 'late-reply', delivered: rng.int(0, 3) }
    case 'slow':
      return { kind: 'slow-reply', delayMs: rng.int(50, Math.round(config.publishTimeoutMs * 1.2)) }
    case 'refuse':
      return { kind: 'refuse', index: rng.int(0, 4), permanent: rng.chance(0.3) }
    case 'throw':
      return { kind: 'throw', delivered: rng.int(0, 2) }
    case 'close':
      return { kind: 'close-connection' }
  }
  throw new Error('unreachable')
}

/**
 * A writer transaction over 0 to 2 keys. Keys are renumbered in order of
 * first use (the run names keys so that this is also hashtext order), so
 * every transaction takes its key locks in one global order, as enqueue's
 * array form does: same-key writers wait for each other but never deadlock.
 */
function generateTransaction(rng: SeededRandom, config: RunConfig): Action {
  const keyCount = rng.weighted({ none: 15, one: 65, two: 20 })
  const txKeys = keyCount === 'none' ? [] : keyCount === 'one' ? [rng.int(0, config.keys - 1)] : distinctPair(rng, config.keys)
  const message = (): MessageSpec => {
    const key = txKeys.length === 0 || rng.chance(0.2) ? null : rng.pick(txKeys)
    const spec: { -readonly [K in keyof MessageSpec]: MessageSpec[K] } = { key }
    if (rng.chance(0.08)) spec.delayMs = rng.int(50, 600)
    if (rng.chance(0.1)) spec.reuse = rng.int(0, REUSED_IDS - 1)
    if (config.oddInputs && rng.chance(0.05)) spec.odd = rng.pick(['multibyte-id', 'lone-surrogate'] as const)
    if (rng.chance(0.3)) spec.topic = 'b'
    return spec
  }
  const enqueue = (): WriterStep => {
    const messages = Array.from({ length: rng.int(1, 3) }, message)
    return { s: 'enqueue', messages, array: messages.length > 1 && rng.chance(0.7) }
  }
  const steps = (depth: number): WriterStep[] =>
    Array.from({ length: rng.int(1, 3) }, () =>
      depth < 2 && rng.chance(0.2) ? { s: 'savepoint', steps: steps(depth + 1), rollback: rng.chance(0.5) } : enqueue(),
    )
  return {
    t: 'tx',
    writer: rng.int(0, WRITERS - 1),
    steps: renumberKeys(steps(0)),
    rollback: rng.chance(0.2),
    holdMs: rng.chance(0.15) ? rng.int(10, 150) : 0,
  }
}

function distinctPair(rng: SeededRandom, keys: number): number[] {
  const a = rng.int(0, keys - 1)
  const b = (a + rng.int(1, keys - 1)) % keys
  return [a, b]
}

/** Renames the keys of a transaction so that they are first used in increasing order. */
export function renumberKeys(steps: readonly WriterStep[]): WriterStep[] {
  const seen: number[] = []
  const visit = (list: readonly WriterStep[]) => {
    for (const step of list) {
      if (step.s === 'savepoint') visit(step.steps)
      else for (const m of step.messages) if (m.key !== null && !seen.includes(m.key)) seen.push(m.key)
    }
  }
  visit(steps)
  const sorted = [...seen].sort((a, b) => a - b)
  const rename = new Map(seen.map((key, i) => [key, sorted[i] as number]))
  const map = (list: readonly WriterStep[]): WriterStep[] =>
    list.map((step) =>
      step.s === 'savepoint'
        ? { ...step, steps: map(step.steps) }
        : { ...step, messages: step.messages.map((m) => (m.key === null ? m : { ...m, key: rename.get(m.key) as number })) },
    )
  return map(steps)
}
