import { InvalidOptionError } from '@txbox/core'
import { describe, expect, test } from 'vitest'
import { exponentialBackoff } from '../../src/relay/backoff.js'

describe('exponential backoff with full jitter (pure logic)', () => {
  test('the bound doubles per attempt up to maxDelay; the draw is uniform below it', () => {
    const top = exponentialBackoff({ initialDelay: 100, maxDelay: 1000 }, () => 0.999999)
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999])
    const bottom = exponentialBackoff({ initialDelay: 100, maxDelay: 1000 }, () => 0)
    expect([1, 2, 3].map(bottom)).toEqual([0, 0, 0])
    const half = exponentialBackoff({ initialDelay: 100, multiplier: 3 }, () => 0.5)
    expect([1, 2, 3].map(half)).toEqual([50, 150, 450])
  })

  test('bad settings are typed errors', () => {
    expect(() => exponentialBackoff({ initialDelay: -1 })).toThrow(InvalidOptionError)
    expect(() => exponentialBackoff({ multiplier: 0.5 })).toThrow(InvalidOptionError)
  })
})
