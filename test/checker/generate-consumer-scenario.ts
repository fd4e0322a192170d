import type { ConsumedMessageSpec, ConsumerAction, ConsumerBrokerKind, ConsumerRunConfig, ConsumerScenario } from './consumer-scenario-model.js'
import { SeededRandom } from './seeded-random.js'

export interface GenerateConsumerOptions {
  /** Fix the broker instead of drawing it. */
  readonly broker?: ConsumerBrokerKind
  /** How many actions (default: 12 to 35). */
  readonly actions?: number
}

/** The consumer scenario of `seed`: the same seed always gives the same scenario. */
export function generateConsumerScenario(seed: number, options: GenerateConsumerOptions = {}): ConsumerScenario {
  const rng = new SeededRandom(seed)
  const config = generateConfig(rng, options.broker)
  const count = options.actions ?? rng.int(12, 35)
  const actions: ConsumerAction[] = []
  for (let i = 0; i < count; i++) actions.push(generateAction(rng, config))
  return { half: 'consumer', seed, config, actions }
}

function generateConfig(rng: SeededRandom, broker: ConsumerBrokerKind | undefined): ConsumerRunConfig {
  // Drawn even when fixed, so that a seed is the same scenario whichever way it was run.
  const drawn: ConsumerBrokerKind = rng.chance(0.5) ? 'redis' : 'rabbitmq'
  const claimIdleMs = rng.pick([300, 500, 800])
  return {
    broker: broker ?? drawn,
    consumers: { one: 1, two: 2, three: 3, four: 4 }[rng.weighted({ one: 30, two: 30, three: 25, four: 15 })],
    maxDeliveries: rng.int(2, 4),
    processOnce: rng.chance(0.6),
    batch: rng.pick([1, 1, 2, 5, 10]),
    claimIdleMs,
    // Above the slowest attempt (slowMs ≤ 150), but short: a hanging attempt costs one timeout.
    handlerTimeoutMs: rng.pick([400, 700]),
    queueType: rng.chance(0.7) ? 'quorum' : 'classic',
    keys: rng.int(1, 4),
  }
}

function generateAction(rng: SeededRandom, config: ConsumerRunConfig): ConsumerAction {
  switch (rng.weighted({ publish: 50, pause: 22, crash: 20, quiesce: 4 })) {
    case 'publish':
      return { t: 'publish', messages: Array.from({ length: rng.int(1, 8) }, () => generateMessage(rng, config)) }
    case 'pause':
      return { t: 'pause', ms: rng.int(20, 400) }
    case 'crash':
      return {
        t: 'crash',
        consumer: rng.int(0, 3),
        how: rng.weighted({ drop: 45, kill: 35, stop: 20 }),
        rename: rng.chance(0.3),
      }
    case 'quiesce':
      return { t: 'quiesce' }
  }
  throw new Error('unreachable')
}

function generateMessage(rng: SeededRandom, config: ConsumerRunConfig): ConsumedMessageSpec {
  const fails = rng.weighted({ none: 70, some: 20, dead: 10 })
  const failBy = rng.weighted({ throw: 60, effect: 30, hang: config.broker === 'redis' ? 10 : 0 })
  return {
    key: rng.chance(0.15) ? null : rng.int(0, config.keys - 1),
    fails: fails === 'none' ? 0 : fails === 'some' ? rng.int(1, config.maxDeliveries - 1) : config.maxDeliveries + rng.int(0, 1),
    failBy: failBy === 'effect' ? 'effect-then-throw' : failBy,
    slowMs: rng.chance(0.3) ? rng.int(10, 150) : 0,
  }
}
