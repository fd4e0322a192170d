import type { Kysely } from 'kysely'
import { isKysely } from '../sql-executor.js'
import type { OptionDeclaration } from './option-declaration.js'
import { shape } from './option-kinds.js'
import { checkValue } from './resolve-options.js'

/** "Is this a Kysely instance", said once: the `db` of every txbox function that opens its own transactions. */
export const DATABASE_OPTION: OptionDeclaration<Kysely<any>> = shape<Kysely<any>>()({
  type: 'Kysely',
  description: 'Where the txbox tables are: your Kysely instance on PostgreSQL.',
  required: true,
  expected: 'a Kysely instance on your PostgreSQL database (new Kysely({ dialect: new PostgresDialect({ pool }) }))',
  test: isKysely,
})

/** Throws InvalidOptionError unless `db` is a Kysely instance. `where` names the call, e.g. `migrate(db)`. */
export function requireKysely(where: string, db: unknown): asserts db is Kysely<any> {
  checkValue(where, 'db', DATABASE_OPTION, db)
}
