import { randomBytes } from 'node:crypto'
import { notifyRelays } from '../../sql/outbox/notify-relays.js'
import { listenChannel } from '../../sql/relay/listen-channel.js'
import { runSql } from '../../sql/run-sql.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

/**
 * A NOTIFY/LISTEN round trip through the same connection settings as the
 * relay: one connection listens, another notifies, as a writer would. A
 * transaction-mode pooler (PgBouncer) accepts the LISTEN and then gives its
 * server connection to other clients, so the notification never arrives.
 */
export async function checkListen({ pool, listenTimeoutMs }: DoctorContext): Promise<Finding[]> {
  const channel = `txbox_doctor_${randomBytes(6).toString('hex')}`
  const payload = randomBytes(6).toString('hex')
  const listener = await pool.connect()
  let timer: NodeJS.Timeout | undefined
  const started = performance.now()
  try {
    const heard = new Promise<boolean>((resolve) => {
      listener.on('notification', (message) => {
        if (message.channel === channel && message.payload === payload) resolve(true)
      })
      timer = setTimeout(() => resolve(false), listenTimeoutMs)
    })
    await listener.query(listenChannel(channel).text)
    await runSql(pool, notifyRelays({ channel, payload }))
    if (await heard) {
      return [finding('listen', 'ok', `a NOTIFY reached LISTEN in ${Math.round(performance.now() - started)} ms: relays wake up at once`)]
    }
    return [
      finding(
        'listen',
        'problem',
        `a NOTIFY did not reach LISTEN within ${listenTimeoutMs} ms: this connection goes through a pooler in transaction mode (PgBouncer?), which drops LISTEN; relays fall back to polling (and log a warning), so messages wait up to the poll interval`,
        'give the relay a direct connection to PostgreSQL (or a session-mode pool) for LISTEN: `createRelay({ listen: directPool })`, or DATABASE_URL of `txbox relay` pointing at PostgreSQL; or accept polling and lower --poll-interval',
        { channel, waitedMs: listenTimeoutMs },
      ),
    ]
  } finally {
    clearTimeout(timer)
    // Destroyed, not returned to the pool: it holds a LISTEN.
    listener.release(true)
  }
}
