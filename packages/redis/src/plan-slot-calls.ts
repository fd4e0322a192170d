/**
 * Splits a batch's entries into the script calls a Redis Cluster can take,
 * without breaking the publisher's promise: a key's message is never written
 * after an earlier message of the key failed, and a key's messages are
 * written in order.
 *
 * One script call may only touch streams of one hash slot (else CROSSSLOT),
 * so the entries are grouped by slot: one call per slot, the calls of a round
 * sent in parallel. A key whose messages all fall in one slot is ordered by
 * its call's script, which runs its XADDs in order and stops the key at its
 * first failure. A key whose messages fall in several slots cannot rely on
 * that: calls to different slots run in parallel (on different nodes), so a
 * later message could be written while an earlier one fails. Its messages are
 * cut into runs of consecutive messages in one slot, and run n goes in round
 * n: the caller sends a round only once the previous one was answered, and
 * leaves out the keys that failed in it.
 *
 * Returns the rounds, each a list of calls, each call the entries of one slot
 * in batch order. With every entry in one slot (a single Redis node), that is
 * one round of one call: the batch in one round trip. A batch needs as many
 * rounds as its most scattered key has runs.
 */
export function planSlotCalls<E extends { readonly slot: number; readonly key: string | null }>(entries: readonly E[]): E[][][] {
  const rounds: Map<number, E[]>[] = []
  const lastRun = new Map<string, { readonly slot: number; readonly round: number }>()
  for (const entry of entries) {
    let round = 0
    if (entry.key !== null) {
      const last = lastRun.get(entry.key)
      if (last !== undefined) round = last.slot === entry.slot ? last.round : last.round + 1
      lastRun.set(entry.key, { slot: entry.slot, round })
    }
    const calls = (rounds[round] ??= new Map())
    const call = calls.get(entry.slot)
    if (call) call.push(entry)
    else calls.set(entry.slot, [entry])
  }
  return rounds.map((calls) => [...calls.values()])
}
