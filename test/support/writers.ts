import { enqueueOnCommit, onCommit, withTransaction } from '@txbox/core'
import type { Kysely } from 'kysely'
import type { WriterHistory, WrittenMessage } from './invariants.js'

/**
 * What concurrent writers did, recorded the moment each outcome was known.
 *
 * Commit order per key is NOT the order in which COMMIT returned to the
 * writers: a backend releases its locks at commit before it answers, and on a
 * loaded machine it can be descheduled in between while the next same-key
 * writer runs its INSERT and COMMIT to the end (seen here: 12 of 1800
 * transactions on 2 cores). What orders same-key transactions is the key's
 * advisory lock, held from a transaction's first surviving INSERT of that key
 * to its end. So each transaction takes a ticket when that INSERT returns:
 * the next same-key transaction's INSERT can only return after this one
 * committed, hence after the ticket, in this process's single event loop.
 */
export class WriterLedger implements WriterHistory {
  readonly rolledBack: string[] = []
  readonly inDoubt: string[] = []
  transactions = 0
  private tickets = 0
  private readonly entries: { message: WrittenMessage; ticket: number; index: number }[] = []
  private sorted: WrittenMessage[] | undefined

  /** A ticket for "this transaction now holds the lock of its key". */
  takeTicket(): number {
    this.tickets += 1
    return this.tickets
  }

  /** Records a committed transaction's messages, in enqueue order, with its key's ticket. */
  recordCommitted(messages: readonly WrittenMessage[], ticket: number): void {
    messages.forEach((message, index) => {
      this.entries.push({ message, ticket, index })
    })
    this.sorted = undefined
  }

  /** Committed messages in commit order per key (ticket order, then enqueue order). */
  get committed(): readonly WrittenMessage[] {
    this.sorted ??= [...this.entries].sort((a, b) => a.ticket - b.ticket || a.index - b.index).map((e) => e.message)
    return this.sorted
  }
}

export interface WritersOptions {
  readonly db: Kysely<any>
  readonly schema: string
  readonly topic: string
  /** Keys to draw from; few keys means many same-key writers racing. */
  readonly keys: readonly string[]
  /** Writers running at once (each holds one connection while in a transaction). Default 3. */
  readonly concurrency?: number
  /** Stop after this many transactions in all. Default: until stop(). */
  readonly maxTransactions?: number
  /** Share of transactions rolled back at the end. Default 0.2. */
  readonly rollbackRate?: number
  /** Share of transactions that also enqueue inside a savepoint they roll back. Default 0.15. */
  readonly savepointRate?: number
  /** Share of transactions whose messages have no key. Default 0.1. */
  readonly unkeyedRate?: number
  /** Pause between one writer's transactions, in ms, to keep the load steady. Default 2. */
  readonly pauseMs?: number
}

export interface Writers {
  readonly ledger: WriterLedger
  /** Resolves when every writer has finished its current transaction. */
  stop(): Promise<void>
  /** Resolves when maxTransactions is reached (or after stop()). */
  readonly done: Promise<void>
}

class IntendedRollback extends Error {}

/**
 * Starts writers that commit and roll back transactions enqueueing 1 to 3
 * messages of one key each (one key per transaction: two keys taken in
 * opposite orders by two writers would deadlock on the key locks, which
 * PostgreSQL breaks by aborting one; that tests nothing of ours and costs a
 * second per deadlock).
 */
export function startWriters(options: WritersOptions): Writers {
  const ledger = new WriterLedger()
  const concurrency = options.concurrency ?? 3
  const rollbackRate = options.rollbackRate ?? 0.2
  const savepointRate = options.savepointRate ?? 0.15
  const unkeyedRate = options.unkeyedRate ?? 0.1
  const pauseMs = options.pauseMs ?? 2
  let stopped = false
  let started = 0
  let seq = 0

  const oneTransaction = async () => {
    const key = Math.random() < unkeyedRate ? null : (options.keys[Math.floor(Math.random() * options.keys.length)] as string)
    const rollback = Math.random() < rollbackRate
    const withSavepoint = Math.random() < savepointRate
    const count = 1 + Math.floor(Math.random() * 3)
    const message = () => ({ topic: options.topic, key: key ?? undefined, payload: { n: ++seq } })
    const mine: string[] = []
    const savepointIds: string[] = []
    let bodyDone = false
    let ticket = 0
    try {
      await withTransaction(options.db, async (trx) => {
        onCommit(trx, () => {
          ledger.recordCommitted(
            mine.map((messageId) => ({ messageId, key })),
            ticket,
          )
        })
        for (let i = 0; i < count; i++) {
          mine.push(...(await enqueueOnCommit(trx, message(), { schema: options.schema })))
          if (i === 0) ticket = ledger.takeTicket()
          if (withSavepoint && i === 0) {
            await withTransaction(trx, async (sp) => {
              savepointIds.push(...(await enqueueOnCommit(sp, message(), { schema: options.schema })))
              throw new IntendedRollback()
            }).catch((error) => {
              if (!(error instanceof IntendedRollback)) throw error
            })
          }
        }
        bodyDone = true
        if (rollback) throw new IntendedRollback()
      })
      ledger.rolledBack.push(...savepointIds)
    } catch (error) {
      ledger.rolledBack.push(...savepointIds)
      if (error instanceof IntendedRollback || !bodyDone) ledger.rolledBack.push(...mine)
      // The body finished but COMMIT failed: the writer cannot know the outcome.
      else ledger.inDoubt.push(...mine)
    }
    ledger.transactions += 1
  }

  const writer = async () => {
    while (!stopped) {
      if (options.maxTransactions !== undefined && started >= options.maxTransactions) return
      started += 1
      await oneTransaction()
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }

  const done = Promise.all(Array.from({ length: concurrency }, writer)).then(() => undefined)
  return {
    ledger,
    done,
    async stop() {
      stopped = true
      await done
    },
  }
}
