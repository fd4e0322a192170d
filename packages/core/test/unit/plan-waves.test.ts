import { describe, expect, test } from 'vitest'
import { planWaves } from '../../src/relay/plan-waves.js'
import type { OutboxMessage } from '../../src/publisher.js'

const m = (id: number, key: string | null): OutboxMessage => ({
  id: String(id), messageId: `m${id}`, topic: 't', key, payload: '1', headers: {}, attempts: 0, createdAt: new Date(0),
})

describe('planWaves (pure logic)', () => {
  test('distinct keys and unkeyed messages make a single wave', () => {
    const batch = [m(1, 'a'), m(2, null), m(3, 'b'), m(4, null)]
    expect(planWaves(batch)).toEqual([batch])
  })

  test('wave n holds each key’s n-th message, in batch order', () => {
    const waves = planWaves([m(1, 'a'), m(2, 'a'), m(3, 'b'), m(4, 'a'), m(5, null), m(6, 'b')])
    expect(waves.map((w) => w.map((x) => x.id))).toEqual([['1', '3', '5'], ['2', '6'], ['4']])
  })

  test('an empty batch has no waves', () => {
    expect(planWaves([])).toEqual([])
  })
})
