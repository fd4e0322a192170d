import type { Publisher } from '@txbox/core'
import { describe, expect, it } from 'vitest'
import { formatFailure } from './format-scenario.js'
import { droppingPublisher, duplicatingPublisher, reorderingPublisher } from './planted-bugs.js'
import { runScenario } from './run-scenario.js'
import type { Action, BrokerKind, Scenario } from './scenario-model.js'
import { kindsOf, type ViolationKind } from './violations.js'

// The checker checked: against the real services, a publisher with a planted
// bug (it drops a message, reorders a key, sends a message twice, all while
// reporting success) must be caught, and the same plain scenario without the
// bug must pass. A checker that misses these, or flags the plain run, is broken.

function plainScenario(broker: BrokerKind): Scenario {
  const actions: Action[] = []
  for (let i = 0; i < 6; i++) {
    actions.push({ t: 'tx', writer: i % 3, steps: [{ s: 'enqueue', messages: [{ key: 0 }, { key: 0 }, { key: null }], array: true }], rollback: false, holdMs: 0 })
    actions.push({ t: 'pause', ms: 40 })
  }
  actions.push({ t: 'quiesce' })
  return {
    seed: 0,
    config: {
      broker,
      relays: [1],
      blockKeyOnFailure: true,
      batchSize: 2,
      publishTimeoutMs: 1000,
      maxAttempts: 3,
      keys: 1,
      oddInputs: false,
      settings: { serializable: false, idleInTransactionMs: null, statementTimeoutMs: null },
    },
    actions,
  }
}

async function kindsWith(broker: BrokerKind, bug?: (publisher: Publisher) => Publisher): Promise<{ kinds: ViolationKind[]; detail: string }> {
  const scenario = plainScenario(broker)
  const { report } = await runScenario(scenario, bug ? { wrapRealPublisher: bug } : {})
  return { kinds: kindsOf(report.violations), detail: formatFailure(scenario, report) }
}

describe('the checker catches planted bugs', () => {
  it.each(['redis', 'rabbitmq'] as const)('passes the plain scenario on %s', { timeout: 30_000 }, async (broker) => {
    const { kinds, detail } = await kindsWith(broker)
    expect(kinds, detail).toEqual([])
  })

  it('reports a message the publisher dropped while reporting it published as lost', { timeout: 30_000 }, async () => {
    const { kinds, detail } = await kindsWith('rabbitmq', (p) => droppingPublisher(p))
    expect(kinds, detail).toContain('lost')
  })

  it('reports a key the publisher reordered while reporting success as out of order', { timeout: 30_000 }, async () => {
    const { kinds, detail } = await kindsWith('redis', (p) => reorderingPublisher(p))
    expect(kinds, detail).toContain('order')
  })

  it('reports a message the publisher sent twice in a clean call as an unexplained duplicate', { timeout: 30_000 }, async () => {
    const { kinds, detail } = await kindsWith('redis', (p) => duplicatingPublisher(p))
    expect(kinds, detail).toEqual(['duplicate'])
  })
})
