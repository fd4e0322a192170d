import { describe, expect, it } from 'vitest'
import type { ConsumerBrokerKind } from './consumer-scenario-model.js'
import { generateConsumerScenario } from './generate-consumer-scenario.js'
import { runAndShrinkConsumer } from './run-and-shrink-consumer.js'

// The checker's consumer half, bounded: a few fixed seeds per broker, chosen
// so that together they use every kind of action (one to four consumers in a
// group or on a queue, connections dropped, consumers killed and stopped and
// restarted under their name or another, handlers that fail, write and fail,
// hang past the timeout or are slow, with and without processOnce, quorum and
// classic queues). A failure prints its seed and a shrunk reproduction;
// `pnpm test:soak` runs random seeds.
//
// TXBOX_CHECKER_SHRINK_MS: time to shrink a failure (default 30 s; 0: print it as is).
const SEEDS: Record<ConsumerBrokerKind, readonly number[]> = {
  redis: [1, 2],
  rabbitmq: [1, 2],
}
const ACTIONS = 25
const shrinkMs = Number(process.env.TXBOX_CHECKER_SHRINK_MS ?? 30_000)

describe('randomized checker, consumer half, fixed seeds', () => {
  it.each(['redis', 'rabbitmq'] as const)(
    '%s: every published message handled or dead after maxDeliveries failed runs, processOnce effects once, nothing dead that succeeded, keys in order for one consumer',
    { timeout: 180_000 },
    async (broker) => {
      for (const seed of SEEDS[broker]) {
        const checked = await runAndShrinkConsumer(generateConsumerScenario(seed, { broker, actions: ACTIONS }), { shrinkMs, log: (line) => console.log(line) })
        if (checked.failedWith) expect.fail(checked.reproduction)
      }
    },
  )
})
