/**
 * Runs every competitor once per round, starting each round with the next one
 * (A B C, B C A, C A B, ...), so that a slow spell of the shared machine does
 * not always fall on the same competitor. Returns each one's figure per round.
 */
export async function interleavedRounds<T extends string>(
  rounds: number,
  competitors: readonly T[],
  measure: (competitor: T, round: number) => Promise<number>,
): Promise<Record<T, number[]>> {
  const results = Object.fromEntries(competitors.map((c) => [c, [] as number[]])) as Record<T, number[]>
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < competitors.length; i++) {
      const competitor = competitors[(round + i) % competitors.length] as T
      results[competitor].push(await measure(competitor, round))
    }
  }
  return results
}

/** Milliseconds since an origin, with sub-millisecond resolution. */
export const now = (): number => performance.now()

/** Runs `work` from `clients` concurrent loops until `durationMs` passed; returns completed calls per second. */
export async function closedLoopThroughput(clients: number, durationMs: number, work: () => Promise<void>): Promise<number> {
  const end = now() + durationMs
  let done = 0
  const start = now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (now() < end) {
        await work()
        done += 1
      }
    }),
  )
  return done / ((now() - start) / 1000)
}
