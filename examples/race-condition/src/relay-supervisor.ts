import type { ChildProcess } from 'node:child_process'
import { exited, startScript, wasInterrupted } from './child-process.js'
import { type Broker, brokers, KILL_RELAY_AFTER_PUBLISHED, type RunNames } from './settings.js'

/**
 * Runs the relay process, kills it with SIGKILL once each of its relays has
 * published a few messages (whatever batch they are in the middle of), and
 * starts a new one, as a process manager would.
 */
export function superviseRelay(names: RunNames): { kills: () => number; stop: () => Promise<void> } {
  const published = new Map<Broker, number>(brokers.map((b) => [b, 0]))
  let kills = 0
  let stopping = false
  let child: ChildProcess

  const start = () => {
    child = startScript('./relay-process.ts', names)
    child.on('message', (m: { broker: Broker; published: number }) => {
      published.set(m.broker, published.get(m.broker)! + m.published)
      if (kills === 0 && [...published.values()].every((n) => n >= KILL_RELAY_AFTER_PUBLISHED)) {
        kills++
        child.kill('SIGKILL')
      }
    })
    child.once('exit', (code, signal) => {
      if (stopping || wasInterrupted()) return
      if (signal !== 'SIGKILL') console.error(`the relay process ended unexpectedly (exit code ${code})`)
      start()
    })
  }
  start()

  return {
    kills: () => kills,
    async stop() {
      stopping = true
      const end = exited(child)
      child.kill('SIGTERM')
      await end
    },
  }
}
