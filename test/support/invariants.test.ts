import { describe, expect, it } from 'vitest'
import { checkInvariants, formatReport, type WriterHistory } from './invariants.js'

const m = (messageId: string, key: string | null = null) => ({ messageId, key })
const d = (...ids: string[]) => ids.map((messageId) => ({ messageId }))

describe('checkInvariants', () => {
  it('passes a clean history: every committed message delivered once, in order', () => {
    const history: WriterHistory = { committed: [m('a1', 'a'), m('b1', 'b'), m('a2', 'a'), m('n1')], rolledBack: ['r1'] }
    const report = checkInvariants(history, d('b1', 'a1', 'n1', 'a2'))
    expect(report).toMatchObject({ ok: true, lost: [], phantom: [], orderViolations: [], duplicates: 0, committed: 4, rolledBack: 1, deliveries: 4 })
  })

  it('reports a committed message that never arrived as lost', () => {
    const report = checkInvariants({ committed: [m('a1', 'a'), m('a2', 'a')], rolledBack: [] }, d('a1'))
    expect(report.lost).toEqual(['a2'])
    expect(report.ok).toBe(false)
  })

  it('reports a delivered message of a rolled-back transaction as phantom', () => {
    const report = checkInvariants({ committed: [m('a1', 'a')], rolledBack: ['r1'] }, d('a1', 'r1'))
    expect(report.phantom).toEqual(['r1'])
    expect(report.ok).toBe(false)
  })

  it('reports a delivered message nobody wrote as phantom', () => {
    expect(checkInvariants({ committed: [], rolledBack: [] }, d('x')).phantom).toEqual(['x'])
  })

  it('accepts a message whose commit outcome the writer could not know, delivered or not', () => {
    const history: WriterHistory = { committed: [m('a1')], rolledBack: [], inDoubt: ['u1', 'u2'] }
    const report = checkInvariants(history, d('a1', 'u1'))
    expect(report).toMatchObject({ ok: true, lost: [], phantom: [] })
  })

  it('reports a key whose later commit arrived first as an order violation', () => {
    const history: WriterHistory = { committed: [m('a1', 'a'), m('a2', 'a'), m('a3', 'a')], rolledBack: [] }
    const report = checkInvariants(history, d('a1', 'a3', 'a2'))
    expect(report.orderViolations).toEqual([{ key: 'a', overtaker: 'a3', overtaken: 'a2' }])
    expect(report.ok).toBe(false)
  })

  it('judges order on first deliveries: a redelivered batch after a crash is only duplicates', () => {
    const history: WriterHistory = { committed: [m('a1', 'a'), m('a2', 'a'), m('a3', 'a')], rolledBack: [] }
    const report = checkInvariants(history, d('a1', 'a2', 'a1', 'a2', 'a3'))
    expect(report).toMatchObject({ ok: true, duplicates: 2, orderViolations: [] })
  })

  it('does not order messages of different keys or without a key', () => {
    const history: WriterHistory = { committed: [m('a1', 'a'), m('b1', 'b'), m('n1'), m('n2')], rolledBack: [] }
    expect(checkInvariants(history, d('n2', 'b1', 'n1', 'a1')).ok).toBe(true)
  })

  it('still checks the order of what arrived when some messages are lost', () => {
    const history: WriterHistory = { committed: [m('a1', 'a'), m('a2', 'a'), m('a3', 'a')], rolledBack: [] }
    const report = checkInvariants(history, d('a3', 'a1'))
    expect(report.lost).toEqual(['a2'])
    expect(report.orderViolations).toEqual([{ key: 'a', overtaker: 'a3', overtaken: 'a1' }])
  })

  it('refuses a history that records one message both committed and rolled back', () => {
    expect(() => checkInvariants({ committed: [m('a1')], rolledBack: ['a1'] }, [])).toThrow(/both committed and rolled back/)
    expect(() => checkInvariants({ committed: [m('a1'), m('a1')], rolledBack: [] }, [])).toThrow(/committed twice/)
  })

  it('formats the figures on one line', () => {
    const report = checkInvariants({ committed: [m('a1')], rolledBack: ['r'] }, d('a1', 'a1'))
    expect(formatReport('demo', report, { kills: 3 })).toBe(
      '[fault] demo: committed=1 rolledBack=1 deliveries=2 lost=0 phantom=0 orderViolations=0 duplicates=1 kills=3',
    )
  })
})
