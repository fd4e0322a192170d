import { createHash } from 'node:crypto'
import { InvalidIdentifierError } from '../errors/invalid-identifier-error.js'
import type { OptionDeclaration } from '../options/option-declaration.js'
import { asStoredByPostgres, MAX_NAME_BYTES, quoteIdentifier } from './identifiers.js'

/** Where txbox keeps its tables. Every txbox function that touches them takes these options. */
export interface TableOptions {
  /** Schema of the txbox tables. Default `txbox`. */
  schema?: string
  /** The outbox table. Default `outbox`. */
  outboxTable?: string
  /** Where dead letters go. Default `outbox_dead`. */
  deadTable?: string
  /** The consumers' inbox (see `processOnce`). Default `inbox`. */
  inboxTable?: string
}

/** Validated, quoted names, resolved once per distinct set of options. */
export interface TableNames {
  readonly schema: string
  readonly outboxTable: string
  readonly deadTable: string
  readonly inboxTable: string
  /** Quoted and qualified, ready to splice into SQL. */
  readonly quoted: {
    readonly schema: string
    readonly outbox: string
    readonly dead: string
    readonly inbox: string
    readonly migrations: string
  }
  /** Channel for the relay's wake-up signal (NOTIFY), one per outbox table; at most 63 bytes. */
  readonly channel: string
  /**
   * First keys of the two-int advisory locks txbox takes on this outbox, one
   * space per purpose so that a writer's key lock never blocks a relay's lane.
   * `migrateSchema` is the schema's: every migrate of the schema takes it,
   * whatever its table set.
   */
  readonly locks: { readonly keys: number; readonly lanes: number; readonly migrate: number; readonly migrateSchema: number }
}

/** The names used when an option is left out. */
export const DEFAULT_TABLE_NAMES = { schema: 'txbox', outboxTable: 'outbox', deadTable: 'outbox_dead', inboxTable: 'inbox' } as const

/** The table that records which migrations each table set of a schema has, and its index. */
export const LEDGER_TABLE = 'txbox_migrations'
export const LEDGER_INDEX = 'txbox_migrations_table_set_idx'

/** A schema or table name: checked (InvalidIdentifierError) as the option is resolved. */
function identifier(option: keyof TableOptions, description: string): OptionDeclaration<string> {
  return {
    type: 'identifier',
    description,
    default: DEFAULT_TABLE_NAMES[option],
    cli: true,
    accept: (value) => {
      quoteIdentifier(option, value)
      return value as string
    },
  }
}

/** The table options every txbox function that touches the tables accepts. */
export const TABLE_OPTIONS = {
  schema: identifier('schema', 'Schema of the txbox tables.'),
  outboxTable: identifier('outboxTable', 'The outbox table.'),
  deadTable: identifier('deadTable', 'Where dead letters go.'),
  inboxTable: identifier('inboxTable', "The consumers' inbox (see processOnce)."),
} as const satisfies Record<keyof TableOptions, OptionDeclaration<string>>

const cache = new Map<string, TableNames>()

/** Resolves and validates table names; throws InvalidIdentifierError for a bad one. */
export function resolveTableNames(options: TableOptions = {}): TableNames {
  // Only undefined means "the default": null or '' is a mistake to report.
  const schema = options.schema === undefined ? DEFAULT_TABLE_NAMES.schema : options.schema
  const outboxTable = options.outboxTable === undefined ? DEFAULT_TABLE_NAMES.outboxTable : options.outboxTable
  const deadTable = options.deadTable === undefined ? DEFAULT_TABLE_NAMES.deadTable : options.deadTable
  const inboxTable = options.inboxTable === undefined ? DEFAULT_TABLE_NAMES.inboxTable : options.inboxTable
  const cacheKey = `${String(schema)}\0${String(outboxTable)}\0${String(deadTable)}\0${String(inboxTable)}`
  const hit = cache.get(cacheKey)
  if (hit) return hit

  const qs = quoteIdentifier('schema', schema)
  const names: TableNames = {
    schema,
    outboxTable,
    deadTable,
    inboxTable,
    quoted: {
      schema: qs,
      outbox: `${qs}.${quoteIdentifier('outboxTable', outboxTable)}`,
      dead: `${qs}.${quoteIdentifier('deadTable', deadTable)}`,
      inbox: `${qs}.${quoteIdentifier('inboxTable', inboxTable)}`,
      migrations: `${qs}."${LEDGER_TABLE}"`,
    },
    channel: wakeUpChannel(schema, outboxTable),
    locks: { ...lockSpacesFor(`${schema}.${outboxTable}`), migrateSchema: lockBlock(schema) + 3 },
  }
  rejectClashingNames(names)
  cache.set(cacheKey, names)
  return names
}

/**
 * The NOTIFY channel of an outbox. `schema_outbox` when that fits in 63 bytes
 * (the channel of earlier releases, so writers and relays of two releases
 * still agree). Longer, PostgreSQL would refuse it in pg_notify and cut it in
 * LISTEN, so it is cut here, deterministically, and ends with a hash of the
 * whole name so that two outboxes sharing a long prefix keep their own channel.
 */
function wakeUpChannel(schema: string, outboxTable: string): string {
  const channel = `${schema}_${outboxTable}`
  if (channel.length <= MAX_NAME_BYTES) return channel
  const hash = createHash('sha256').update(`${schema}.${outboxTable}`).digest('hex').slice(0, 16)
  return `${channel.slice(0, MAX_NAME_BYTES - hash.length - 1)}_${hash}`
}

/**
 * The names a table set takes in its schema, where tables, indexes and
 * constraints share one namespace: the tables, the ledger, and the index and
 * constraint names the migrations derive from the table names (keep in step
 * with migrations.ts; a test compares them with what migrate creates).
 */
export function namesInSchema(names: Pick<TableNames, 'outboxTable' | 'deadTable' | 'inboxTable'>): { option: keyof TableOptions | 'txbox'; name: string }[] {
  const { outboxTable: o, deadTable: d, inboxTable: i } = names
  return [
    { option: 'txbox', name: LEDGER_TABLE },
    { option: 'txbox', name: LEDGER_INDEX },
    { option: 'outboxTable', name: o },
    ...['pkey', 'ready_idx', 'retry_idx', 'delayed_idx', 'held_idx'].map((suffix) => ({ option: 'outboxTable' as const, name: `${o}_${suffix}` })),
    { option: 'deadTable', name: d },
    ...['pkey', 'topic_idx', 'message_id_idx'].map((suffix) => ({ option: 'deadTable' as const, name: `${d}_${suffix}` })),
    { option: 'inboxTable', name: i },
    ...['pkey', 'processed_at_idx'].map((suffix) => ({ option: 'inboxTable' as const, name: `${i}_${suffix}` })),
  ]
}

/**
 * Two of these names alike (as PostgreSQL stores them, cut at 63 bytes) would
 * make migrate's CREATE ... IF NOT EXISTS skip a table or an index in silence,
 * or put two tables in one. Derived names longer than 63 bytes are cut by
 * PostgreSQL, which is harmless as long as they stay distinct.
 */
function rejectClashingNames(names: TableNames): void {
  const seen = new Map<string, keyof TableOptions | 'txbox'>()
  for (const { option, name } of namesInSchema(names)) {
    const stored = asStoredByPostgres(name)
    const taker = seen.get(stored)
    if (taker !== undefined && option !== 'txbox') {
      const by = taker === 'txbox' ? "txbox's migration ledger" : `${taker} "${names[taker]}"`
      throw new InvalidIdentifierError(
        option,
        names[option],
        `needs the name "${stored}" in schema "${names.schema}", which ${by} already needs (PostgreSQL keeps a schema's tables, indexes and constraints in one namespace): give outboxTable, deadTable and inboxTable names of their own, none of them ending like txbox's index names (_pkey, _idx).`,
      )
    }
    seen.set(stored, option)
  }
}

// FNV-1a over the qualified name: a stable 31-bit int, so that two outboxes in
// one database never share advisory locks, and users' own advisory locks (which
// mostly use the one-bigint form) do not collide with ours. Each name owns a
// block of four first keys; an outbox uses three, and the schema's migrate
// lock the fourth of the schema's own block, so it meets no outbox's locks.
function lockBlock(name: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash & 0x7ffffffc
}

function lockSpacesFor(name: string): Omit<TableNames['locks'], 'migrateSchema'> {
  const base = lockBlock(name)
  return { keys: base, lanes: base + 1, migrate: base + 2 }
}
