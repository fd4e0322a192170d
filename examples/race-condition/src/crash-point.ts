import { CRASH_AFTER_COMMIT_OF } from './settings.js'

/**
 * Where the app process dies: right after signup CRASH_AFTER_COMMIT_OF has
 * committed in every scenario that does something after its COMMIT, before
 * any of them did it (an OOM kill, a deploy, a node crash). Each scenario's
 * step waits here until the last one arrives and kills the process, so every
 * row of the table meets the same crash.
 */
export class CrashPoint {
  private arrived = 0

  constructor(private readonly scenariosWithAStepAfterCommit: number) {}

  async afterCommitOf(signup: number): Promise<void> {
    if (signup !== CRASH_AFTER_COMMIT_OF) return
    this.arrived++
    if (this.arrived === this.scenariosWithAStepAfterCommit) process.kill(process.pid, 'SIGKILL')
    await new Promise<never>(() => {})
  }
}
