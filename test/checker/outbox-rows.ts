import { waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { nOf } from './history-index.js'
import type { LeftoverRow, RunHistory } from './run-history.js'
import type { RunEnvironment } from './run-environment.js'

/**
 * A row written into the outbox by hand, as another tool might: unkeyed (a
 * hand-written row takes no key lock, so it has no place in a key's order),
 * committed at once. With `nullHeaders`, its headers are JSON null, which the
 * column allows.
 */
export async function insertRawRow(env: RunEnvironment, history: RunHistory, nullHeaders: boolean): Promise<void> {
  const n = history.takeN()
  const messageId = `ck-raw-${n}`
  const enqueuedAt = Date.now()
  await sql`insert into ${sql.id(env.schema, 'outbox')} (message_id, topic, payload, headers)
            values (${messageId}, 'ck.a', ${JSON.stringify({ n })}::jsonb, ${nullHeaders ? 'null' : null}::jsonb)`.execute(env.admin)
  history.written.push({ n, messageId, key: null, topic: 'ck.a', delayMs: 0, enqueuedAt, raw: true, status: 'committed' })
}

/** Waits (bounded, never failing) until no row is ready to publish: relays caught up with the writers. */
export async function waitUntilNoReadyRows(env: RunEnvironment, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from ${sql.id(env.schema, 'outbox')} where available_at is null or available_at <= now()`.execute(env.admin)
      return rows[0]?.n === 0
    },
    { timeoutMs, intervalMs: 50 },
  ).catch(() => {})
}

export async function countOutbox(env: RunEnvironment): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(env.schema, 'outbox')}`.execute(env.admin)
  return rows[0]?.n ?? 0
}

export async function readLeftovers(env: RunEnvironment): Promise<LeftoverRow[]> {
  const { rows } = await sql<{ payload: string; message_id: string; attempts: number; available_at: Date | null; last_error: string | null }>`
    select payload::text as payload, message_id, attempts, available_at, last_error from ${sql.id(env.schema, 'outbox')} order by id`.execute(env.admin)
  return rows.map((r) => ({
    n: nOf(r.payload),
    messageId: r.message_id,
    attempts: r.attempts,
    availableAt: r.available_at?.toISOString() ?? null,
    lastError: r.last_error,
  }))
}

/** n of every dead letter. */
export async function readDeadNs(env: RunEnvironment): Promise<number[]> {
  const { rows } = await sql<{ payload: string }>`select payload::text as payload from ${sql.id(env.schema, 'outbox_dead')}`.execute(env.admin)
  return rows.flatMap((r) => {
    const n = nOf(r.payload)
    return n === null ? [] : [n]
  })
}
