import { InvalidOptionError, type TableOptions } from '@txbox/core'
import { type RawBuilder, sql } from 'kysely'

/** The outbox's tables as SQL identifiers (quoted by Kysely), and their plain names for catalog look-ups. */
export interface OutboxTables {
  readonly schema: string
  readonly outboxName: string
  readonly deadName: string
  readonly outbox: RawBuilder<unknown>
  readonly dead: RawBuilder<unknown>
}

const NAME = /^[a-z_][a-z0-9_]{0,47}$/

/** The tables named by `options` (txbox's defaults otherwise); a name txbox could not have created is refused. */
export function outboxTables(options: TableOptions): OutboxTables {
  const schema = options.schema ?? 'txbox'
  const outboxName = options.outboxTable ?? 'outbox'
  const deadName = options.deadTable ?? 'outbox_dead'
  for (const [option, name] of [
    ['schema', schema],
    ['outboxTable', outboxName],
    ['deadTable', deadName],
  ] as const) {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new InvalidOptionError(option, `dashboard: ${option} must be 1–48 lower-case letters, digits and _ (as txbox's tables are named), got ${JSON.stringify(name)}.`)
    }
  }
  return { schema, outboxName, deadName, outbox: sql.id(schema, outboxName), dead: sql.id(schema, deadName) }
}
