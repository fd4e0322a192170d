import { ABORTED, untilAborted } from '@txbox/core/adapter'
import { describe, expect, test } from 'vitest'

describe('untilAborted', () => {
  test('rejects with ABORTED at once when the signal aborted before the wait began (it waited for ever)', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(untilAborted(new Promise(() => {}), controller.signal)).rejects.toBe(ABORTED)
  }, 1000)

  test('rejects with ABORTED when the signal aborts during the wait', async () => {
    const controller = new AbortController()
    const waiting = untilAborted(new Promise(() => {}), controller.signal)
    controller.abort()
    await expect(waiting).rejects.toBe(ABORTED)
  })

  test("settles with the promise's value or error otherwise", async () => {
    await expect(untilAborted(Promise.resolve(1), new AbortController().signal)).resolves.toBe(1)
    await expect(untilAborted(Promise.reject(new Error('no')), new AbortController().signal)).rejects.toThrow('no')
  })
})
