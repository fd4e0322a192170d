import { DEFAULT_TABLE_NAMES as DEFAULTS, type TableOptions } from '../schema/table-names.js'
import { TxboxError } from './txbox-error.js'

/**
 * The outbox tables do not exist (or are older than this version expects).
 * The message says how to create them for the table set in question: each
 * table set of a schema (its outbox, dead-letter and inbox tables) is migrated
 * on its own, so the advice names the same options the failing call was given.
 */
export class SchemaNotMigratedError extends TxboxError {
  /**
   * @param table The missing table, quoted and qualified.
   * @param options `tables`: the table set the failing call was given (pass
   *   the resolved names). Without it, only `schema` is known, and the advice
   *   asks for the same table options when `table` is not a default name.
   */
  constructor(table: string, options?: { cause?: unknown; schema?: string; tables?: TableOptions }) {
    super('SCHEMA_NOT_MIGRATED', `${table} does not exist. ${advice(table, options?.tables ?? { schema: options?.schema })}`, { cause: options?.cause })
  }
}

function advice(table: string, tables: TableOptions): string {
  const set = {
    schema: tables.schema ?? DEFAULTS.schema,
    outboxTable: tables.outboxTable ?? DEFAULTS.outboxTable,
    deadTable: tables.deadTable ?? DEFAULTS.deadTable,
    inboxTable: tables.inboxTable ?? DEFAULTS.inboxTable,
  }
  const given = (Object.keys(set) as (keyof typeof set)[]).filter((k) => set[k] !== DEFAULTS[k])
  const options = given.length === 0 ? '' : `, { ${given.map((k) => `${k}: '${set[k]}'`).join(', ')} }`
  const customTables = given.some((k) => k !== 'schema')
  if (!customTables && !namesACustomTable(table)) {
    const cli = set.schema === DEFAULTS.schema ? 'npx txbox migrate' : `npx txbox migrate --schema ${set.schema}`
    const files = set.schema === DEFAULTS.schema ? 'the SQL files shipped in @txbox/core/sql' : `the SQL of \`${cli} --print-sql\``
    return `Create the txbox tables first: run \`${cli}\`, call migrate(db${options}) at startup, or apply ${files} with your migration tool.`
  }
  if (customTables) {
    return `Each table set of a schema is migrated on its own: create this one first by calling migrate(db${options}) at startup, or apply migrationSql(${options.slice(2)}) with your migration tool (\`txbox migrate\` creates only the default table names).`
  }
  // The caller passed its schema only, and the missing table has a name of the caller's choosing.
  return `Each table set of a schema is migrated on its own: create this one first by calling migrate(db, { schema: '${set.schema}', ... }) at startup with the same outboxTable, deadTable and inboxTable options as this call, or apply migrationSql({ ... }) with them (\`txbox migrate\` creates only the default table names).`
}

/** `"schema"."name"` where name is not one of the default table names. */
function namesACustomTable(table: string): boolean {
  const name = /\."([^"]+)"$/.exec(table)?.[1]
  return name !== undefined && !Object.values(DEFAULTS).includes(name as never)
}
