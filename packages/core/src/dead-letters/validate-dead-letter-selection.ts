import { InvalidOptionError } from '../errors/invalid-option-error.js'
import type { DeadLetterSelection } from './dead-letter-selection.js'

const TEXT_FIELDS = ['topic', 'key', 'errorContains'] as const
const DATE_FIELDS = ['deadFrom', 'deadTo'] as const
/** A bigint id in decimal, below 2^63 whatever its digits (18 digits at most). */
const DEAD_ID = /^\d{1,18}$/

/** Throws InvalidOptionError for a selection the SQL could not take as meant (the dashboard passes what a page sent). */
export function validateDeadLetterSelection(where: string, selection: DeadLetterSelection): void {
  const bad = (message: string): never => {
    throw new InvalidOptionError('selection', `${where}: ${message}`)
  }
  if (typeof selection !== 'object' || selection === null) bad('selection must be { kind: "ids" | "deadIds" | "topic" | "all" | "filter", ... }.')
  switch (selection.kind) {
    case 'ids':
      if (!Array.isArray(selection.ids) || !selection.ids.every((id) => typeof id === 'string')) bad('ids must be an array of message id strings.')
      return
    case 'deadIds':
      if (!Array.isArray(selection.ids) || !selection.ids.every((id) => typeof id === 'string' && DEAD_ID.test(id)))
        bad('deadIds must be an array of dead-letter ids: strings of 1 to 18 digits (the id column of the dead letters, DeadLetterRef.id).')
      return
    case 'topic':
      if (typeof selection.topic !== 'string' || selection.topic === '') bad('topic must be a non-empty string.')
      return
    case 'all':
      return
    case 'filter': {
      const filter = selection.filter
      if (typeof filter !== 'object' || filter === null) bad('filter must be an object ({} selects every dead letter).')
      for (const field of TEXT_FIELDS) {
        const value = filter[field]
        if (value !== undefined && typeof value !== 'string') bad(`filter.${field} must be a string, got ${typeof value}.`)
      }
      for (const field of DATE_FIELDS) {
        const value = filter[field]
        if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime()))) bad(`filter.${field} must be a valid Date.`)
      }
      return
    }
    default:
      bad(`unknown selection kind ${JSON.stringify((selection as { kind?: unknown }).kind)}: use "ids", "deadIds", "topic", "all" or "filter".`)
  }
}
