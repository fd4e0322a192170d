import { enqueueOnCommit, type OutboxMessageInput, TxboxError, withTransaction } from '@txbox/core'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { RunHistory, WrittenMessage } from './run-history.js'
import type { Action, MessageSpec, WriterStep } from './scenario-model.js'

/** What a writer needs to know about the run. */
export interface WriterContext {
  readonly db: Kysely<any>
  readonly schema: string
  /** Key names, indexed as in the scenario (in hashtext order: see generate-scenario.ts). */
  readonly keys: readonly string[]
  /** The run's caller-chosen message ids (idempotency keys). */
  readonly reusedIds: readonly string[]
  readonly history: RunHistory
}

type TxAction = Extract<Action, { t: 'tx' }>

class IntendedRollback extends Error {}

/** A transaction or savepoint: its messages, and the tickets of the key locks it took. */
interface Scope {
  readonly parent: Scope | undefined
  readonly messages: WrittenMessage[]
  readonly tickets: Map<string, number>
}

const DEADLOCK = '40P01'

/**
 * Runs one writer transaction of a scenario and records every message's fate.
 *
 * Commit order per key: each message is ranked by the ticket its transaction
 * took right after the statement that first locked the message's key (see
 * WriterLedger in test/support/writers.ts for why that, and not the order in
 * which COMMIT returned, is the commit order). A savepoint that rolls back
 * releases the locks taken inside it, so its tickets go with it.
 */
export async function runWriterTransaction(ctx: WriterContext, action: TxAction): Promise<void> {
  const top: Scope = { parent: undefined, messages: [], tickets: new Map() }
  let bodyDone = false
  let holdTimer: NodeJS.Timeout | undefined
  try {
    await withTransaction(ctx.db, async (trx) => {
      await runSteps(ctx, trx, action.steps, top)
      if (action.holdMs > 0) await new Promise((resolve) => (holdTimer = setTimeout(resolve, action.holdMs)))
      bodyDone = true
      if (action.rollback) throw new IntendedRollback()
    })
    let index = 0
    for (const m of top.messages) {
      if (m.status !== 'committed') continue
      const ticket = m.key === null ? undefined : ticketOf(top, m.key)
      if (ticket !== undefined) m.rank = { ticket, index }
      index += 1
    }
  } catch (error) {
    clearTimeout(holdTimer)
    const inDoubt = bodyDone && !(error instanceof IntendedRollback)
    for (const m of top.messages) if (m.status === 'committed') m.status = inDoubt ? 'in-doubt' : 'rolled-back'
    if (!(error instanceof IntendedRollback) && (error as { code?: string }).code !== DEADLOCK) {
      ctx.history.writerErrors.push(`writer ${action.writer}: ${describeError(error)} (transaction ${JSON.stringify(action.steps)})`)
    }
  }
}

async function runSteps(ctx: WriterContext, trx: Transaction<any>, steps: readonly WriterStep[], scope: Scope): Promise<void> {
  for (const step of steps) {
    if (step.s === 'enqueue') {
      await enqueueStep(ctx, trx, step, scope)
      continue
    }
    const inner: Scope = { parent: scope, messages: [], tickets: new Map() }
    try {
      await withTransaction(trx, async (sp) => {
        await runSteps(ctx, sp as Transaction<any>, step.steps, inner)
        if (step.rollback) throw new IntendedRollback()
      })
      scope.messages.push(...inner.messages)
      for (const [key, ticket] of inner.tickets) scope.tickets.set(key, ticket)
    } catch (error) {
      for (const m of inner.messages) if (m.status === 'committed') m.status = 'rolled-back'
      scope.messages.push(...inner.messages)
      if (!(error instanceof IntendedRollback)) throw error
    }
  }
}

/**
 * One enqueueOnCommit call. Messages are recorded 'committed' provisionally
 * (the transaction's end decides). A reused id may find its id taken: enqueue
 * then does nothing for it, which the writer learns by reading the row back.
 */
async function enqueueStep(ctx: WriterContext, trx: Transaction<any>, step: Extract<WriterStep, { s: 'enqueue' }>, scope: Scope): Promise<void> {
  const written = step.messages.map((spec) => newMessage(ctx, spec))
  const inputs = step.messages.map((spec, i) => toInput(spec, written[i] as WrittenMessage))
  ctx.history.written.push(...written)
  const ids: string[] = []
  try {
    if (step.array) ids.push(...(await enqueueOnCommit(trx, inputs, { schema: ctx.schema })))
    else for (const input of inputs) ids.push(...(await enqueueOnCommit(trx, input, { schema: ctx.schema })))
  } catch (error) {
    // A typed refusal at the call leaves the transaction usable: the writer
    // goes on without the refused call's messages. One call at a time, the
    // calls before the refused one stand (ids has theirs).
    const refusedFrom = step.array ? 0 : ids.length
    for (const m of written.slice(refusedFrom)) m.status = error instanceof TxboxError ? 'refused' : 'rolled-back'
    if (!(error instanceof TxboxError)) {
      for (const m of written.slice(0, refusedFrom)) m.status = 'rolled-back'
      throw error
    }
    written.length = refusedFrom
  }
  written.forEach((m, i) => {
    m.messageId = ids[i] ?? m.messageId
  })
  const reused = written.filter((_, i) => step.messages[i]?.reuse !== undefined)
  if (reused.length > 0) {
    const { rows } = await sql<{ n: string | null }>`
      select payload->>'n' as n from ${sql.id(ctx.schema, 'outbox')} where message_id = any(${reused.map((m) => m.messageId)}::text[])`.execute(trx)
    const present = new Set(rows.map((r) => Number(r.n)))
    for (const m of reused) if (!present.has(m.n)) m.status = 'not-inserted'
  }
  for (const m of written) {
    if (m.status !== 'committed') continue
    scope.messages.push(m)
    if (m.key !== null && ticketOf(scope, m.key) === undefined) scope.tickets.set(m.key, ctx.history.takeTicket())
  }
}

/** A message id is the caller's for reused and odd ones; otherwise enqueue generates it (filled in once it returns). */
function newMessage(ctx: WriterContext, spec: MessageSpec): WrittenMessage {
  const n = ctx.history.takeN()
  const messageId =
    spec.reuse !== undefined ? (ctx.reusedIds[spec.reuse % ctx.reusedIds.length] as string) : spec.odd === 'multibyte-id' ? `${'é'.repeat(128)}-${n}` : ''
  return {
    n,
    messageId,
    key: spec.key === null ? null : (ctx.keys[spec.key % ctx.keys.length] as string),
    topic: spec.topic === 'b' ? 'ck.b' : 'ck.a',
    delayMs: spec.delayMs ?? 0,
    enqueuedAt: Date.now(),
    raw: false,
    ...(spec.odd ? { odd: spec.odd } : {}),
    status: 'committed',
  }
}

function toInput(spec: MessageSpec, m: WrittenMessage): OutboxMessageInput {
  const payload = spec.odd === 'lone-surrogate' ? { n: m.n, text: 'half a pair: \ud800' } : { n: m.n }
  return {
    topic: m.topic,
    payload,
    ...(m.messageId === '' ? {} : { messageId: m.messageId }),
    ...(m.key === null ? {} : { key: m.key }),
    ...(m.delayMs > 0 ? { delay: m.delayMs } : {}),
  }
}

function ticketOf(scope: Scope, key: string): number | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const ticket = s.tickets.get(key)
    if (ticket !== undefined) return ticket
  }
  return undefined
}

function describeError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string }
  return `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}: ${e?.message ?? String(error)}`
}
