import { createRelay, enqueueOnCommit, type OutboxMessage, type OutboxMessageInput, silentLogger, withTransaction } from '@txbox/core'
import { recordingPublisher, type TestDatabase } from '@txbox/testing'
import { sql } from 'kysely'

/** Outbox and dead-letter helpers for the CLI tests, on the test file's own schema. */
export function deadLetterFixture(t: TestDatabase) {
  const outbox = `${t.schema}.outbox`
  const dead = `${t.schema}.outbox_dead`

  async function enqueue(messages: OutboxMessageInput[]): Promise<string[]> {
    return withTransaction(t.db, (trx) => enqueueOnCommit(trx, messages, { schema: t.schema }))
  }

  /**
   * Enqueues messages and lets a relay whose publisher refuses them for good
   * move them to the dead letters. A message id may already be dead: a dead
   * letter per call is added. `refusal` is the broker's error for a message
   * (default: "broker said no").
   */
  async function makeDead(messages: OutboxMessageInput[], refusal: (m: OutboxMessage) => Error = () => new Error('broker said no')): Promise<string[]> {
    const ids = await enqueue(messages)
    const publisher = recordingPublisher()
    publisher.failWhen((m) => (ids.includes(m.messageId) ? Object.assign(refusal(m), { permanent: true }) : undefined))
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, maxAttempts: 1, logger: silentLogger })
    // A failing head message holds back its key's later ones: one cycle per wave.
    for (let cycle = 0; cycle < messages.length; cycle++) {
      const left = await t.db.selectFrom(outbox).select('id').where('message_id', 'in', ids).execute()
      if (left.length === 0) break
      await relay.runOnce()
    }
    const left = await t.db.selectFrom(outbox).select('message_id').where('message_id', 'in', ids).execute()
    const published = publisher.confirmed.filter((m) => ids.includes(m.messageId))
    if (left.length > 0 || published.length > 0) throw new Error(`makeDead: ${left.length} message(s) still waiting, ${published.length} published`)
    return ids
  }

  /** The outbox rows in id (publishing) order. */
  async function outboxRows(): Promise<{ id: string; message_id: string; key: string | null; payload: unknown }[]> {
    return t.db.selectFrom(outbox).select(['id', 'message_id', 'key', 'payload']).orderBy('id').execute()
  }

  /** The dead letters in id order. */
  async function deadRows(): Promise<{ id: string; message_id: string; key: string | null; payload: unknown }[]> {
    return t.db.selectFrom(dead).select(['id', 'message_id', 'key', 'payload']).orderBy('id').execute()
  }

  async function clear(): Promise<void> {
    await sql`truncate ${sql.id(t.schema, 'outbox')}, ${sql.id(t.schema, 'outbox_dead')}`.execute(t.db)
  }

  return { enqueue, makeDead, outboxRows, deadRows, clear }
}
