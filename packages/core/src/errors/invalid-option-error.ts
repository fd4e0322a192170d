import { TxboxError } from './txbox-error.js'

/** An option passed to a txbox function is unknown, of the wrong type or out of range. */
export class InvalidOptionError extends TxboxError {
  /** The option's name, e.g. `batchSize`. */
  readonly option: string

  constructor(option: string, message: string) {
    super('INVALID_OPTION', message)
    this.option = option
  }
}
