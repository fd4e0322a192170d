import { TxboxError } from './txbox-error.js'

/** A schema or table name that is not a plain SQL identifier, or that clashes with another name txbox needs. */
export class InvalidIdentifierError extends TxboxError {
  readonly identifier: unknown

  /**
   * @param problem What is wrong with this name and what to do, when the name
   *   itself is well-formed (it clashes with another); by default the message
   *   gives the rules of a valid name.
   */
  constructor(what: string, identifier: unknown, problem?: string) {
    const shown = JSON.stringify(identifier) ?? String(identifier)
    super(
      'INVALID_IDENTIFIER',
      problem === undefined
        ? `${what} ${shown} is not a valid name: use 1 to 48 characters of lower-case letters, digits and underscores, starting with a letter or underscore (for example "txbox" or "app_outbox").`
        : `${what} ${shown} ${problem}`,
    )
    this.identifier = identifier
  }
}
