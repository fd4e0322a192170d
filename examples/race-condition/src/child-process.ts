import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { RunNames } from './settings.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))

/** The demo's child processes still running. */
const runningScripts = new Set<ChildProcess>()
let interrupted = false

/** Kills every child process of the demo (it was interrupted), and lets no supervisor start new ones. */
export function killScripts(): void {
  interrupted = true
  for (const child of runningScripts) child.kill('SIGKILL')
}

export function wasInterrupted(): boolean {
  return interrupted
}

/** Starts one of the demo's scripts as a real process (so that it can really be killed). */
export function startScript(script: string, names: RunNames, env: Record<string, string> = {}): ChildProcess {
  if (interrupted) throw new Error('the demo was interrupted')
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL(script, import.meta.url))], {
    cwd: packageDir,
    env: { ...process.env, ...env, DEMO_SCHEMA: names.schema, DEMO_REDIS_PREFIX: names.redisPrefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  runningScripts.add(child)
  child.once('exit', () => runningScripts.delete(child))
  return child
}

/** Resolves with how the process ended: an exit code, or the signal that killed it. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** Runs the app process for signups from..to and waits for it to end. */
export async function runApp(names: RunNames, from: number, to: number) {
  const child = startScript('./app-process.ts', names, { DEMO_FROM: String(from), DEMO_TO: String(to) })
  const end = await exited(child)
  if (interrupted) throw new Error('the demo was interrupted')
  if (end.code !== 0 && end.signal !== 'SIGKILL') throw new Error(`the app process failed (exit code ${end.code}); see its output above`)
  return end
}
