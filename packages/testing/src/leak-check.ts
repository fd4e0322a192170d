import { afterAll, beforeAll } from 'vitest'
import { waitFor } from './wait-for.js'

/**
 * Vitest setup file: fails a test file that leaves sockets or timers behind
 * (an unclosed pool, client, relay or consumer). Resources are counted by kind
 * before the file's first hook and after its last one; a count that stays
 * above the baseline for two seconds is a leak.
 */
const watched = new Set(['TCPSocketWrap', 'TCPWRAP', 'PipeWrap', 'Timeout', 'Immediate', 'ProcessWrap'])

function countResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) {
    if (watched.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}

function leaked(baseline: Map<string, number>): string[] {
  const out: string[] = []
  for (const [kind, count] of countResources()) {
    const before = baseline.get(kind) ?? 0
    if (count > before) out.push(`${count - before} × ${kind}`)
  }
  return out
}

let baseline = new Map<string, number>()

beforeAll(() => {
  baseline = countResources()
})

afterAll(async () => {
  try {
    await waitFor(() => leaked(baseline).length === 0, { timeoutMs: 2000, intervalMs: 25 })
  } catch {
    throw new Error(
      `this test file leaked ${leaked(baseline).join(', ')}: close every pool, client, relay, consumer and timer it opens (in afterAll or a finally block).`,
    )
  }
})
