import type { Kysely } from 'kysely'
import type { Logger } from '../logger.js'
import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql/run-sql.js'
import { lockFreeLanes } from '../sql/relay/lock-free-lanes.js'
import type { OrphanKey } from '../sql/relay/orphan-keys.js'
import { promoteDelayed } from '../sql/relay/promote-delayed.js'
import { releaseOrphanKeys } from '../sql/relay/release-orphan-keys.js'

/**
 * Makes delayed messages ready when they are due (promote-delayed.ts), and
 * sweeps held-back rows whose key lost its failed head another way
 * (orphan-keys.ts). One per relay, shared by its loops.
 */
export class DelayedPromotion {
  private lastRunAt = 0
  private nextDueAt = 0
  /** Where the next pass of the orphan sweep starts. */
  private sweepFrom: string | null = null

  constructor(
    private readonly db: Kysely<any>,
    private readonly names: TableNames,
    private readonly options: { readonly batchSize: number; readonly pollInterval: number; readonly logger: Logger },
  ) {}

  /**
   * Promotes due delayed messages when the next known one is due, and at
   * least once per poll interval (a writer may have added an earlier one).
   * Not on every cycle: it is a round trip the hot path does not need.
   */
  async runIfDue(): Promise<void> {
    const now = Date.now()
    if (now < this.nextDueAt && now - this.lastRunAt < this.options.pollInterval) return
    this.lastRunAt = now
    const { rows } = await runSql(
      this.db,
      promoteDelayed(this.names, { limit: this.options.batchSize, keyLockSpace: this.names.locks.keys, sweepFrom: this.sweepFrom }),
    )
    const promoted = rows[0]?.promoted ?? 0
    this.sweepFrom = rows[0]?.orphans.last ?? null
    // A full promotion may have left more due rows: look again on the next cycle.
    this.nextDueAt = promoted >= this.options.batchSize ? now : (rows[0]?.next_due_at?.getTime() ?? Number.POSITIVE_INFINITY)
    if (promoted > 0) this.options.logger.debug({ promoted }, 'txbox relay: delayed messages are due')
    const released = await this.releaseOrphans(rows[0]?.orphans.orphans ?? [])
    if (released > 0) {
      this.options.logger.warn({ released }, 'txbox relay: released held-back messages whose key has no failed message left (was one deleted by hand?)')
    }
  }

  /**
   * Releases the held rows of `orphans` whose key still has no failed row,
   * after locking their lanes (a lane another relay holds is left for the
   * next sweep); returns how many.
   */
  private async releaseOrphans(orphans: readonly OrphanKey[]): Promise<number> {
    if (orphans.length === 0) return 0
    return this.db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        const lanes = [...new Set(orphans.map((r) => r.lane))]
        const { rows: locked } = await runSql(trx, lockFreeLanes(this.names, { lanes, laneLockSpace: this.names.locks.lanes }))
        if (locked.length === 0) return 0
        const { rows } = await runSql(trx, releaseOrphanKeys(this.names, { keys: orphans.map((r) => r.key), lanes: locked.map((r) => r.lane) }))
        return rows[0]?.released ?? 0
      })
  }
}
