import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { quoteIdentifier } from './identifiers.js'

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
  /** Channel for the relay's wake-up signal (NOTIFY), one per outbox table. */
  readonly channel: string
  /**
   * First keys of the two-int advisory locks txbox takes on this outbox, one
   * space per purpose so that a writer's key lock never blocks a relay's lane.
   */
  readonly locks: { readonly keys: number; readonly lanes: number; readonly migrate: number }
}

const TABLE_OPTION_NAMES = new Set(['schema', 'outboxTable', 'deadTable', 'inboxTable'])
const cache = new Map<string, TableNames>()

/** Resolves and validates table names; throws InvalidIdentifierError for a bad one. */
export function resolveTableNames(options: TableOptions = {}): TableNames {
  // Only undefined means "the default": null or '' is a mistake to report.
  const schema = options.schema === undefined ? 'txbox' : options.schema
  const outboxTable = options.outboxTable === undefined ? 'outbox' : options.outboxTable
  const deadTable = options.deadTable === undefined ? 'outbox_dead' : options.deadTable
  const inboxTable = options.inboxTable === undefined ? 'inbox' : options.inboxTable
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
      migrations: `${qs}."txbox_migrations"`,
    },
    channel: `${schema}_${outboxTable}`,
    locks: lockSpacesFor(`${schema}.${outboxTable}`),
  }
  cache.set(cacheKey, names)
  return names
}

/** Throws InvalidOptionError for any key of `options` not in `allowed` (typos fail loudly). */
export function rejectUnknownOptions(where: string, options: object, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `${where}: options must be an object, got ${options === null ? 'null' : typeof options}.`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key) && !TABLE_OPTION_NAMES.has(key)) {
      throw new InvalidOptionError(
        key,
        `${where}: unknown option "${key}". Known options: ${[...allowed, ...TABLE_OPTION_NAMES].join(', ')}.`,
      )
    }
  }
}

// FNV-1a over the qualified name: a stable 31-bit int, so that two outboxes in
// one database never share advisory locks, and users' own advisory locks (which
// mostly use the one-bigint form) do not collide with ours.
function lockSpacesFor(name: string): TableNames['locks'] {
  let hash = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  const base = hash & 0x7ffffffc
  return { keys: base, lanes: base + 1, migrate: base + 2 }
}
