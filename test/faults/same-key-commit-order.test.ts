import { migrate } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { startWriters } from '../support/writers.js'

// The ground truth every relay scenario relies on: same-key writers are
// serialised by txbox's key lock, so the outbox ids of one key follow the
// order in which the writers' transactions took that lock and committed
// (what WriterLedger records), even with savepoints and rollbacks around.
const t = useTestDatabase('f_commit_order', { poolSize: 4 })

describe('same-key writers', () => {
  it('take outbox ids of one key in commit order, so the relay can follow id order', { timeout: 60_000 }, async () => {
    await migrate(t.db, { schema: t.schema })
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'x', keys: ['k1', 'k2'], maxTransactions: 1500, concurrency: 3, pauseMs: 0 })
    await writers.done
    const { rows } = await sql<{ id: string; message_id: string }>`select id::text, message_id from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
    const idOf = new Map(rows.map((r) => [r.message_id, BigInt(r.id)]))
    const lastId = new Map<string, bigint>()
    const outOfOrder: string[] = []
    for (const m of writers.ledger.committed) {
      const id = idOf.get(m.messageId)
      if (id === undefined) throw new Error(`committed message ${m.messageId} has no outbox row`)
      if (m.key === null) continue
      const last = lastId.get(m.key)
      if (last !== undefined && last > id) outOfOrder.push(`${m.key}: id ${id} committed after id ${last}`)
      lastId.set(m.key, id)
    }
    const rolledBackRows = writers.ledger.rolledBack.filter((id) => idOf.has(id))
    console.log(
      `[fault] same-key commit order: transactions=${writers.ledger.transactions} committed=${writers.ledger.committed.length} rows=${rows.length} outOfOrder=${outOfOrder.length} rolledBackRows=${rolledBackRows.length}`,
    )
    expect(rows.length).toBe(writers.ledger.committed.length)
    expect(rolledBackRows).toEqual([])
    expect(outOfOrder).toEqual([])
  })
})
