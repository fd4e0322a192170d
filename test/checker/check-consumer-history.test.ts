import { describe, expect, it } from 'vitest'
import { checkConsumerHistory } from './check-consumer-history.js'
import type { ConsumerCrashEvent, ConsumerFacts, HandlerCall, PublishedMessage } from './consumer-history.js'
import type { ConsumerRunConfig } from './consumer-scenario-model.js'
import { kindsOf } from './violations.js'

// The consumer half's judge, on histories written by hand: each promise it
// checks is broken once (it must say so) and kept once, or broken only where
// a crash explains it (it must stay quiet).

const config: ConsumerRunConfig = {
  broker: 'redis',
  consumers: 2,
  maxDeliveries: 2,
  processOnce: false,
  batch: 5,
  claimIdleMs: 300,
  handlerTimeoutMs: 400,
  queueType: 'quorum',
  keys: 1,
}

function message(n: number, fails = 0, key: number | null = 0): PublishedMessage {
  return { n, messageId: `m${n}`, key, spec: { key, fails, failBy: 'throw', slowMs: 0 }, publishedAt: n * 10 }
}

function call(n: number, startedAt: number, outcome: HandlerCall['outcome'], slot = 0): HandlerCall {
  return { n, slot, life: slot + 1, consumer: `c${slot}`, deliveries: 1, attempt: 1, startedAt, endedAt: startedAt + 5, outcome }
}

function facts(over: Partial<ConsumerFacts>): ConsumerFacts {
  return {
    config,
    published: [],
    calls: [],
    crashes: [],
    processed: [],
    deadLetters: [],
    effects: new Map(),
    endedAt: 10_000,
    stalls: [],
    harnessErrors: [],
    log: [],
    ...over,
  }
}

const kill: ConsumerCrashEvent = { slot: 1, life: 2, how: 'kill', renamed: false, at: 50, endedAt: 60 }
const stop: ConsumerCrashEvent = { slot: 1, life: 2, how: 'stop', renamed: false, at: 50, endedAt: 60 }

describe('the consumer half judge', () => {
  it('passes a clean history: handled once, or dead after maxDeliveries failed runs', () => {
    const report = checkConsumerHistory(
      facts({
        published: [message(1), message(2, 5)],
        calls: [call(1, 100, 'ok'), call(2, 110, 'failed'), call(2, 500, 'failed', 1)],
        deadLetters: [2],
      }),
    )
    expect(report.violations).toEqual([])
    expect(report.stats).toMatchObject({ published: 2, handled: 1, dead: 1, calls: 3 })
  })

  it('reports a message neither handled nor dead as lost', () => {
    expect(kindsOf(checkConsumerHistory(facts({ published: [message(1)], calls: [call(1, 100, 'failed')] })).violations)).toEqual(['lost'])
  })

  it('reports a processOnce effect committed twice, whatever crashed', () => {
    const report = checkConsumerHistory(
      facts({
        config: { ...config, processOnce: true },
        published: [message(1)],
        calls: [call(1, 100, 'ok'), call(1, 200, 'ok', 1)],
        processed: [{ n: 1, at: 105 }],
        effects: new Map([[1, 2]]),
        crashes: [kill],
      }),
    )
    expect(kindsOf(report.violations)).toEqual(['effect-twice'])
  })

  it('reports a dead letter after fewer failed runs than maxDeliveries, unless a crash (not a graceful stop, on Redis) explains it', () => {
    const early = { published: [message(1, 1)], calls: [call(1, 100, 'failed')], deadLetters: [1] }
    expect(kindsOf(checkConsumerHistory(facts(early)).violations)).toEqual(['wrongly-dead'])
    expect(kindsOf(checkConsumerHistory(facts({ ...early, crashes: [stop] })).violations)).toEqual(['wrongly-dead'])
    expect(checkConsumerHistory(facts({ ...early, crashes: [kill] })).violations).toEqual([])
    // RabbitMQ counts a prefetched message a stop hands back (documented).
    expect(checkConsumerHistory(facts({ ...early, config: { ...config, broker: 'rabbitmq' }, crashes: [stop] })).violations).toEqual([])
  })

  it('reports a dead letter of a message handled successfully; on RabbitMQ even after a crash', () => {
    const handledAndDead = { published: [message(1)], calls: [call(1, 100, 'ok')], deadLetters: [1] }
    expect(kindsOf(checkConsumerHistory(facts(handledAndDead)).violations)).toEqual(['wrongly-dead'])
    expect(checkConsumerHistory(facts({ ...handledAndDead, crashes: [kill] })).violations).toEqual([])
    expect(kindsOf(checkConsumerHistory(facts({ ...handledAndDead, crashes: [kill], config: { ...config, broker: 'rabbitmq' } })).violations)).toEqual(['wrongly-dead'])
  })

  it('reports more failed runs than maxDeliveries, and a plain handler run twice with no crash', () => {
    const over = checkConsumerHistory(facts({ published: [message(1, 5)], calls: [call(1, 100, 'failed'), call(1, 200, 'failed'), call(1, 300, 'failed')], deadLetters: [1] }))
    expect(kindsOf(over.violations)).toEqual(['over-delivered'])
    const twice = { published: [message(1)], calls: [call(1, 100, 'ok'), call(1, 200, 'ok', 1)] }
    expect(kindsOf(checkConsumerHistory(facts(twice)).violations)).toEqual(['duplicate'])
    expect(checkConsumerHistory(facts({ ...twice, crashes: [kill] })).violations).toEqual([])
  })

  it("reports a key's messages first handled out of publish order by a single consumer, unless a dropped connection explains it", () => {
    const one = { ...config, consumers: 1 }
    const swapped = { config: one, published: [message(1), message(2)], calls: [call(2, 100, 'ok'), call(1, 120, 'ok')] }
    expect(kindsOf(checkConsumerHistory(facts(swapped)).violations)).toEqual(['order'])
    expect(checkConsumerHistory(facts({ ...swapped, crashes: [{ ...kill, how: 'drop' }] })).violations).toEqual([])
    expect(kindsOf(checkConsumerHistory(facts({ ...swapped, crashes: [stop] })).violations)).toEqual(['order'])
    expect(checkConsumerHistory(facts({ ...swapped, crashes: [{ ...stop, renamed: true }] })).violations).toEqual([])
    // Several consumers promise no order.
    expect(checkConsumerHistory(facts({ ...swapped, config })).violations).toEqual([])
  })

  it('reports a stop() that did not return', () => {
    expect(kindsOf(checkConsumerHistory(facts({ stalls: ['stop() of consumer 0.1 did not return within 5400 ms'] })).violations)).toEqual(['stall'])
  })
})
