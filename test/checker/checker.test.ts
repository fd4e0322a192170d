import { describe, expect, it } from 'vitest'
import { generateScenario } from './generate-scenario.js'
import { runAndShrink } from './run-and-shrink.js'
import type { BrokerKind } from './scenario-model.js'

// The randomized, model-based checker of docs/guarantees.md, bounded: a few
// fixed seeds per broker, chosen so that together they use every kind of
// action (writers with keys, delays, arrays, savepoints, rollbacks and reused
// ids; 1–4 relays with concurrency 1–3, both blocking modes; every publish
// fault; crashes; dead retry and purge; serializable, idle and statement
// timeouts; odd input). A failure prints its seed and a shrunk reproduction;
// `pnpm test:soak` runs random seeds.
//
// TXBOX_CHECKER_SHRINK_MS: time to shrink a failure (default 30 s; 0: print it as is).
const SEEDS: Record<BrokerKind, readonly number[]> = {
  redis: [1399, 18, 1],
  rabbitmq: [3532, 3101, 3001],
}
const ACTIONS = 40
const shrinkMs = Number(process.env.TXBOX_CHECKER_SHRINK_MS ?? 30_000)

describe('randomized checker, fixed seeds', () => {
  it.each(['redis', 'rabbitmq'] as const)(
    '%s: every committed message is delivered (or dead), none rolled back, each key in commit order, repeats only where a fault explains them',
    { timeout: 180_000 },
    async (broker) => {
      for (const seed of SEEDS[broker]) {
        const checked = await runAndShrink(generateScenario(seed, { broker, actions: ACTIONS }), {
          shrinkMs,
          log: (line) => console.log(line),
          keepOnFailure: process.env.TXBOX_CHECKER_KEEP === '1',
        })
        if (checked.failedWith) expect.fail(checked.reproduction)
      }
    },
  )
})
