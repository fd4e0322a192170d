/**
 * One option of a txbox function, declared as data: what it is, its type,
 * its default and bounds, and (for the relay) its `txbox` flag. The same
 * declaration validates what a caller passes ({@link resolveOptions}),
 * generates the CLI's flags and the option tables of the docs, so the three
 * cannot disagree.
 */
export interface OptionDeclaration<T = unknown> {
  /** What the option does, one sentence, for the docs and `--help`. */
  readonly description: string
  /** The type as the docs show it: `integer`, `boolean`, `string`, `function`, `'a' \| 'b'`, a type name. */
  readonly type: string
  /** Used when the option is left out (or `undefined`). */
  readonly default?: T
  /** The default as the docs say it, when it is computed or not a plain value ("the topic"). */
  readonly defaultText?: string
  /** Left out, the call fails (instead of taking a default). */
  readonly required?: boolean
  /** Bounds of a number (inclusive), and its unit ('ms'). */
  readonly min?: number
  readonly max?: number
  readonly unit?: string
  /** Options of a nested options object (`backoff`), resolved with the same rules. */
  readonly fields?: OptionDeclarations
  /** Added to the error message of a bad value: what to do instead. */
  readonly hint?: string
  /** Exposed as a `txbox relay` flag, named after the option (`batchSize` → `--batch-size`). */
  readonly cli?: boolean
  /**
   * Checks a value the caller gave (never `undefined`): returns it (or its
   * normalised form), or a {@link Rejection} saying what it must be.
   * May throw a typed error of its own (a table name throws InvalidIdentifierError).
   */
  readonly accept: (value: unknown) => T | Rejection
}

/** Options declared for one function, in the order they are checked and documented. */
export type OptionDeclarations = Readonly<Record<string, OptionDeclaration<any>>>

/** What a value must be, when it is not: "a positive integer", "at most 65535". */
export class Rejection {
  constructor(readonly expected: string) {}
}

/** The options as {@link resolveOptions} returns them: defaults filled in, every value checked. */
export type ResolvedOptions<D extends OptionDeclarations> = {
  readonly [K in keyof D]: D[K] extends OptionDeclaration<infer T> ? T : never
}
