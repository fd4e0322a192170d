import { InvalidOptionError } from '../errors/invalid-option-error.js'
import type { DeadLetterSelection } from './dead-letter-selection.js'

const TEXT_FIELDS = ['topic', 'key', 'errorContains'] as const
const DATE_FIELDS = ['deadFrom', 'deadTo'] as const

/** Throws InvalidOptionError for a selection the SQL could not take as meant (the dashboard passes what a page sent). */
export function validateDeadLetterSelection(where: string, selection: DeadLetterSelection): void {
  const bad = (message: string): never => {
    throw new InvalidOptionError('selection', `${where}: ${message}`)
  }
  if (typeof selection !== 'object' || selection === null) bad('selection must be { kind: "ids" | "topic" | "all" | "filter", ... }.')
  switch (selection.kind) {
    case 'ids':
      if (!Array.isArray(selection.ids) || !selection.ids.every((id) => typeof id === 'string')) bad('ids must be an array of message id strings.')
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
      bad(`unknown selection kind ${JSON.stringify((selection as { kind?: unknown }).kind)}: use "ids", "topic", "all" or "filter".`)
  }
}
