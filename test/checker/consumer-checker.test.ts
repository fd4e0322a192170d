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
/**
 * Seeds the soak found failing, run as the soak ran them (their own number of
 * actions). 1930398664: a quorum queue, three consumers, maxDeliveries 2,
 * processOnce: a message handled by one consumer, whose ack was lost with its
 * channel, was dead-lettered by another as past maxDeliveries.
 */
const FOUND_BY_SOAK: Record<ConsumerBrokerKind, readonly number[]> = {
  redis: [],
  rabbitmq: [1930398664],
}
const shrinkMs = Number(process.env.TXBOX_CHECKER_SHRINK_MS ?? 30_000)

describe('randomized checker, consumer half, fixed seeds', () => {
  it.each(['redis', 'rabbitmq'] as const)(
    '%s: every published message handled or dead after maxDeliveries failed runs, processOnce effects once, nothing dead that succeeded, keys in order for one consumer',
    { timeout: 180_000 },
    async (broker) => {
      const scenarios = [
        ...SEEDS[broker].map((seed) => generateConsumerScenario(seed, { broker, actions: ACTIONS })),
        ...FOUND_BY_SOAK[broker].map((seed) => generateConsumerScenario(seed, { broker })),
      ]
      for (const scenario of scenarios) {
        const checked = await runAndShrinkConsumer(scenario, { shrinkMs, log: (line) => console.log(line) })
        if (checked.failedWith) expect.fail(checked.reproduction)
      }
    },
  )
})
