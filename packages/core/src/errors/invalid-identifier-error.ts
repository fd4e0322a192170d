import { TxboxError } from './txbox-error.js'

/** A schema or table name that is not a plain SQL identifier. */
export class InvalidIdentifierError extends TxboxError {
  readonly identifier: unknown

  constructor(what: string, identifier: unknown) {
    super(
      'INVALID_IDENTIFIER',
      `${what} ${JSON.stringify(identifier) ?? String(identifier)} is not a valid name: use 1 to 48 characters of lower-case letters, digits and underscores, starting with a letter or underscore (for example "txbox" or "app_outbox").`,
    )
    this.identifier = identifier
  }
}
