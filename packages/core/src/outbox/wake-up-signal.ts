import type { Executor } from '../executors/executor.js'
import { notifyRelays } from '../sql/outbox/notify-relays.js'
import { wakeInProcessRelays } from '../relay/in-process-relays.js'
import { runSqlThrough } from '../sql/run-sql.js'

/**
 * The signal that wakes relays after a commit: a direct call for the relays
 * running in this process (in-process-relays.ts), and for the others a NOTIFY
 * sent on the pool, after the transaction committed, at most once per window
 * per process and channel.
 *
 * Why not NOTIFY inside the transaction: PostgreSQL serialises the commits of
 * all notifying transactions on one database-wide lock; with a NOTIFY in every
 * transaction, commit throughput of 16 clients fell to 0.32–0.43× (measured on
 * our machines, see docs/performance.md). After the commit it costs one small
 * statement per window, not one lock per transaction. Losing it (a crash
 * between commit and signal) costs latency, never a message: relays also poll.
 */
const WINDOW_MS = 5

interface ChannelState {
  lastSentAt: number
  timer: NodeJS.Timeout | undefined
}

const states = new WeakMap<object, Map<string, ChannelState>>()

/**
 * Wakes this process's relays of `channel` at once, then (with `notify`) sends
 * the NOTIFY for relays in other processes. `db` is the client withTransaction
 * was given; `executor` runs SQL on it.
 *
 * The NOTIFY is sent even when a relay of this process was woken: nothing here
 * can tell whether a relay elsewhere listens, and it costs one small statement
 * per window (docs/performance.md, the notify bench).
 */
export function signalRelays(db: object, executor: Executor, channel: string, notify = true): void {
  wakeInProcessRelays(channel)
  if (!notify) return
  let byChannel = states.get(db)
  if (!byChannel) {
    byChannel = new Map()
    states.set(db, byChannel)
  }
  let state = byChannel.get(channel)
  if (!state) {
    state = { lastSentAt: 0, timer: undefined }
    byChannel.set(channel, state)
  }
  if (state.timer) return // a trailing signal is already due within the window
  const wait = state.lastSentAt + WINDOW_MS - Date.now()
  if (wait <= 0) {
    send(db, executor, channel, state)
    return
  }
  const pending = state
  pending.timer = setTimeout(() => {
    pending.timer = undefined
    send(db, executor, channel, pending)
  }, wait)
  pending.timer.unref()
}

function send(db: object, executor: Executor, channel: string, state: ChannelState): void {
  state.lastSentAt = Date.now()
  runSqlThrough(executor, db, notifyRelays({ channel, payload: '' })).catch(() => {
    // Only latency depends on this signal: the relays' polling delivers anyway.
  })
}
