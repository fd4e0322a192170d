import type { OutboxMessage } from '@txbox/core'
import { describe, expect, it } from 'vitest'
import { checkHistory } from './check-history.js'
import type { BrokerDelivery, OperatorCommand, RelayCall, RunFacts, WrittenMessage } from './run-history.js'
import { kindsOf } from './violations.js'

// The history checker on hand-made histories: each promise, a history that
// keeps it and one that breaks it, and the allowances (dead letters, dead
// retry, faults and crashes that explain a repeat) that must not be flagged.

const w = (n: number, key: string | null, ticket: number, extra: Partial<WrittenMessage> = {}): WrittenMessage => ({
  n,
  messageId: `m${n}`,
  key,
  topic: 'ck.a',
  delayMs: 0,
  enqueuedAt: 0,
  raw: false,
  status: 'committed',
  ...(key === null ? {} : { rank: { ticket, index: 0 } }),
  ...extra,
})
const d = (n: number, key: string | null = 'k', at = 0): BrokerDelivery => ({ messageId: `m${n}`, n, key, at })
const message = (n: number, key: string | null = 'k'): OutboxMessage => ({
  id: String(n),
  messageId: `m${n}`,
  topic: 'ck.a',
  key,
  payload: JSON.stringify({ n }),
  headers: {},
  attempts: 0,
  createdAt: new Date(0),
})
type Outcome = 'ok' | 'failed' | 'permanent' | 'held-back' | 'threw'
const call = (ns: readonly number[], reported: Outcome, extra: Partial<RelayCall> = {}): RelayCall => ({
  relay: 0,
  generation: 1,
  startedAt: 100,
  endedAt: 110,
  fault: undefined,
  timedOut: false,
  connectionClosed: false,
  messages: ns.map((n) => ({ message: message(n), forwarded: reported !== 'held-back', inner: reported === 'ok' ? 'ok' : 'failed', reported })),
  ...extra,
})
const facts = (partial: Partial<RunFacts>): RunFacts => ({
  blockKeyOnFailure: true,
  maxAttempts: 3,
  publishTimeoutMs: 500,
  written: [],
  calls: [],
  crashes: [],
  deaths: [],
  commands: [],
  deliveries: [],
  finalDead: [],
  leftovers: [],
  writerErrors: [],
  harnessErrors: [],
  ...partial,
})
const kinds = (f: RunFacts) => kindsOf(checkHistory(f).violations)
const retry = (extra: Partial<OperatorCommand>): OperatorCommand => ({
  kind: 'retry',
  selection: { all: true },
  startedAt: 1000,
  endedAt: 2000,
  ticketBefore: 10,
  ticketAfter: 11,
  mark: 0,
  before: [],
  after: [],
  exitCode: 0,
  output: '',
  ...extra,
})

describe('history checker', () => {
  it('passes a history that keeps every promise', () => {
    const written = [w(1, 'k', 1), w(2, 'k', 2), w(3, null, 0)]
    expect(kinds(facts({ written, deliveries: [d(3, null), d(1), d(2)], calls: [call([1, 2], 'ok')] }))).toEqual([])
  })

  it('reports a committed message never delivered as lost, unless it is dead, purged or left in the outbox', () => {
    const written = [w(1, 'k', 1), w(2, 'k', 2)]
    expect(kinds(facts({ written, deliveries: [d(1)] }))).toEqual(['lost'])
    expect(kinds(facts({ written, deliveries: [d(1)], finalDead: [2], deaths: [{ n: 2, at: 500 }], calls: [call([2], 'permanent')] }))).toEqual([])
    expect(kinds(facts({ written, deliveries: [d(1)], commands: [{ ...retry({ before: [2] }), kind: 'purge' }] }))).toEqual([])
    expect(kinds(facts({ written, deliveries: [d(1)], leftovers: [{ n: 2, messageId: 'm2', attempts: 0, availableAt: null, lastError: null }] }))).toEqual([
      'stuck',
    ])
  })

  it('reports a delivery of a rolled-back, never-inserted or unknown message as phantom', () => {
    expect(kinds(facts({ written: [w(1, 'k', 1, { status: 'rolled-back' })], deliveries: [d(1)] }))).toEqual(['phantom'])
    expect(kinds(facts({ written: [w(1, 'k', 1, { status: 'not-inserted' })], deliveries: [d(1)] }))).toEqual(['phantom'])
    expect(kinds(facts({ written: [], deliveries: [d(9)] }))).toEqual(['phantom'])
    expect(kinds(facts({ written: [w(1, 'k', 1, { status: 'in-doubt' })], deliveries: [d(1)] }))).toEqual([])
  })

  it('reports a delivery under another key than written as corrupted', () => {
    expect(kinds(facts({ written: [w(1, 'k', 1)], deliveries: [d(1, 'other')] }))).toEqual(['corrupted'])
  })

  it("reports a key's messages first delivered out of commit order, and judges first deliveries only", () => {
    const written = [w(1, 'k', 1), w(2, 'k', 2)]
    expect(kinds(facts({ written, deliveries: [d(2), d(1)] }))).toEqual(['order'])
    // A crash repeats a batch: 1 2 1 2 is in order.
    expect(kinds(facts({ written, deliveries: [d(1), d(2), d(1), d(2)], calls: [call([1, 2], 'failed'), call([1, 2], 'ok')] }))).toEqual([])
    // Other keys, unkeyed and delayed messages have no order between them.
    expect(kinds(facts({ written: [w(1, 'a', 1), w(2, 'b', 2)], deliveries: [d(2, 'b'), d(1, 'a')] }))).toEqual([])
    expect(kinds(facts({ written: [w(1, 'k', 1, { delayMs: 100 }), w(2, 'k', 2)], deliveries: [d(2), d(1, 'k', 1e15)] }))).toEqual([])
  })

  it('lets a key move on past a dead letter, which rejoins at the end of its key when dead retry moves it back', () => {
    const written = [w(1, 'k', 1), w(2, 'k', 2), w(3, 'k', 20)]
    const died = { deaths: [{ n: 1, at: 500 }], calls: [call([1], 'permanent')] }
    // 1 died, 2 went on; 1 stays dead.
    expect(kinds(facts({ written, ...died, finalDead: [1], deliveries: [d(2), d(3)] }))).toEqual([])
    // Moved back (tickets 10..11) after 2 was delivered: delivered after 2, before 3 (committed at ticket 20).
    const moved = retry({ before: [1], mark: 1 })
    expect(kinds(facts({ written, ...died, commands: [moved], deliveries: [d(2), d(1), d(3)] }))).toEqual([])
    // ... but 3, committed after the retry, must not overtake it.
    expect(kinds(facts({ written, ...died, commands: [moved], deliveries: [d(2), d(3), d(1)] }))).toEqual(['order'])
  })

  it('reports a dead letter that dead retry removed but never published as lost (two dead letters, one message id)', () => {
    const written = [w(1, null, 0, { messageId: 'same' }), w(2, null, 0, { messageId: 'same' })]
    const deaths = [
      { n: 1, at: 100 },
      { n: 2, at: 200 },
    ]
    const calls = [call([1], 'permanent'), call([2], 'permanent')]
    const moved = retry({ before: [1, 2], after: [], mark: 0, selection: { ids: ['same'] } })
    const delivery = { messageId: 'same', n: 1, key: null, at: 0 }
    expect(kinds(facts({ written, deaths, calls, commands: [moved], deliveries: [delivery] }))).toEqual(['lost'])
  })

  it('with blockKeyOnFailure off, lets a message that failed be overtaken, and nothing else', () => {
    const written = [w(1, 'k', 1), w(2, 'k', 2), w(3, 'k', 3)]
    const calls = [call([1], 'failed'), call([2, 3], 'ok'), call([1], 'ok')]
    expect(kinds(facts({ written, calls, blockKeyOnFailure: false, deliveries: [d(2), d(3), d(1)] }))).toEqual([])
    expect(kinds(facts({ written, calls, blockKeyOnFailure: false, deliveries: [d(3), d(2), d(1)] }))).toEqual(['order'])
    expect(kinds(facts({ written, calls, blockKeyOnFailure: true, deliveries: [d(2), d(3), d(1)] }))).toEqual(['order'])
  })

  it('allows one repeat per attempt that a timeout, a failure, a closed connection or a crash explains', () => {
    const written = [w(1, 'k', 1)]
    const twice = [d(1), d(1)]
    expect(kinds(facts({ written, deliveries: twice, calls: [call([1], 'ok'), call([1], 'ok')] }))).toEqual(['duplicate'])
    expect(kinds(facts({ written, deliveries: twice, calls: [call([1], 'ok', { timedOut: true }), call([1], 'ok')] }))).toEqual([])
    expect(kinds(facts({ written, deliveries: twice, calls: [call([1], 'threw'), call([1], 'ok')] }))).toEqual([])
    expect(kinds(facts({ written, deliveries: twice, calls: [call([1], 'ok', { connectionClosed: true }), call([1], 'ok')] }))).toEqual([])
    const crashes = [{ relay: 0, generation: 1, at: 105, restart: false }]
    expect(kinds(facts({ written, deliveries: twice, crashes, calls: [call([1], 'ok'), call([1], 'ok', { startedAt: 5000, endedAt: 5010 })] }))).toEqual([])
    // A crash of another relay explains nothing.
    const elsewhere = [{ relay: 1, generation: 2, at: 105, restart: false }]
    expect(kinds(facts({ written, deliveries: twice, crashes: elsewhere, calls: [call([1], 'ok'), call([1], 'ok')] }))).toEqual(['duplicate'])
    expect(kinds(facts({ written, deliveries: [d(1), d(1), d(1)], calls: [call([1], 'ok', { timedOut: true }), call([1], 'ok')] }))).toEqual(['duplicate'])
  })

  it('reports a dead letter without a permanent refusal or maxAttempts failed attempts (a fault must explain those of a plain message); held-back messages were not attempted', () => {
    const written = [w(1, 'k', 1)]
    const dead = { finalDead: [1], deaths: [{ n: 1, at: 1000 }] }
    expect(kinds(facts({ written, ...dead, calls: [call([1], 'failed')] }))).toEqual(['wrongly-dead'])
    const nacked = { fault: { kind: 'refuse', index: 0, permanent: false } } as const
    expect(kinds(facts({ written, ...dead, calls: [call([1], 'failed', nacked), call([1], 'failed', { timedOut: true }), call([1], 'threw', nacked)] }))).toEqual([])
    // The real publisher failing a plain message three times, with no fault to explain it: a neighbour's cost.
    const unexplained = [call([1], 'failed'), call([1], 'failed'), call([1], 'failed')]
    expect(kinds(facts({ written, ...dead, calls: unexplained }))).toEqual(['wrongly-dead'])
    expect(kinds(facts({ written: [w(1, 'k', 1, { odd: 'multibyte-id' })], ...dead, calls: unexplained }))).toEqual([])
    expect(kinds(facts({ written, ...dead, calls: [call([1], 'permanent')] }))).toEqual([])
    expect(kinds(facts({ written, ...dead, calls: [call([1], 'held-back'), call([1], 'held-back'), call([1], 'held-back')] }))).toEqual(['wrongly-dead'])
    // A death committed just after a dead retry started, before it read the dead letters: it ends the first life.
    const racing = { deaths: [{ n: 1, at: 1100 }], commands: [retry({ before: [1], startedAt: 1000, endedAt: 2000 })] }
    expect(kinds(facts({ written, ...racing, calls: [call([1], 'permanent', { startedAt: 950, endedAt: 990 })], deliveries: [d(1)] }))).toEqual([])
    // A permanent refusal heard after the timeout is not one: the relay had given up on the call.
    expect(kinds(facts({ written, ...dead, calls: [call([1], 'permanent', { timedOut: true })] }))).toEqual(['wrongly-dead'])
  })

  it('reports a delayed message delivered before its time', () => {
    const written = [w(1, 'k', 1, { delayMs: 500, enqueuedAt: 10_000 })]
    expect(kinds(facts({ written, deliveries: [d(1, 'k', 10_200)] }))).toEqual(['early'])
    expect(kinds(facts({ written, deliveries: [d(1, 'k', 10_500)] }))).toEqual([])
  })
})
