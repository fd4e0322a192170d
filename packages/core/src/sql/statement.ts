import type { TableNames } from '../schema/table-names.js'

/**
 * One SQL statement, ready to run: its text and its positional values. `Row`
 * is the shape of the rows it returns (a type only, not checked at run time).
 */
export interface Statement<Row = unknown> {
  readonly text: string
  readonly values: readonly unknown[]
  /**
   * The table set the statement works on, and the table it needs first: a
   * missing-table error (42P01) becomes SchemaNotMigratedError naming it
   * (see runSql). Absent for statements on no txbox table.
   */
  readonly tables?: { readonly names: TableNames; readonly first: 'outbox' | 'dead' | 'inbox' }
  /** Never set: carries `Row` for runSql's result type. */
  readonly __row?: Row
}

/**
 * The placeholders a statement's text is written with: `${p.batchSize}`
 * stands for `$n`. Numbers are given in order of first use, so the text never
 * counts `$n` by hand and a variant that leaves a parameter out (PostgreSQL
 * refuses a parameter the text does not use) numbers the others densely.
 */
export type Placeholders<P> = { readonly [K in keyof P]-?: string }

interface Compiled {
  readonly text: string
  /** The parameter names, in `$n` order. */
  readonly order: readonly string[]
}

/**
 * The one statement cache: texts are built once per table set and variant.
 * Table names are resolved once and interned (resolveTableNames), so their
 * object is the key.
 */
const cache = new WeakMap<TableNames, Map<string, Compiled>>()
const NO_TABLES = {} as TableNames

/**
 * Builds (once, then from the cache) the statement `variant` for the table
 * set `names`, with the values of `params` in the order the text uses them.
 *
 * `variant` names the statement and whatever else changes its text (e.g.
 * `delete-batch|blocking`); `build` writes the text from the placeholders and
 * must depend on nothing but `names` and what `variant` says.
 */
export function statement<P extends object, Row>(
  names: TableNames | null,
  variant: string,
  params: P,
  build: (p: Placeholders<P>) => string,
  first?: 'outbox' | 'dead' | 'inbox',
): Statement<Row> {
  const key = names ?? NO_TABLES
  let variants = cache.get(key)
  if (variants === undefined) {
    variants = new Map()
    cache.set(key, variants)
  }
  let compiled = variants.get(variant)
  if (compiled === undefined) {
    compiled = compile(build)
    variants.set(variant, compiled)
  }
  const values = compiled.order.map((name) => (params as Record<string, unknown>)[name])
  return names === null || first === undefined ? { text: compiled.text, values } : { text: compiled.text, values, tables: { names, first } }
}

function compile<P>(build: (p: Placeholders<P>) => string): Compiled {
  const order: string[] = []
  const placeholders = new Proxy({} as Placeholders<P>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined
      let index = order.indexOf(name)
      if (index < 0) index = order.push(name) - 1
      return `$${index + 1}`
    },
  })
  return { text: build(placeholders), order }
}

/** A statement of fixed text without parameters (DDL, a lock taken by literal). */
export function fixedStatement(text: string): Statement<never> {
  return { text, values: [] }
}
