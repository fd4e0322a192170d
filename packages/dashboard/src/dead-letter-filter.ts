import type { DeadLetterFilter } from '@txbox/core'
import { BadRequest } from './request-body.js'

/** The filter fields as the page sends them: in a search's query string, or a change's JSON body. */
type RawFilter = Partial<Record<'topic' | 'key' | 'error' | 'from' | 'to', unknown>>

/** A date, or a date and time with an optional zone: what the page sends (toISOString), and what a person types. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i

/** Reads a filter the page sent; an empty field means "any". A malformed one is a BadRequest. */
export function parseDeadLetterFilter(raw: RawFilter): DeadLetterFilter {
  const text = (field: keyof RawFilter): string | undefined => {
    const value = raw[field]
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') throw new BadRequest(`filter field "${field}" must be a string`)
    return value
  }
  const time = (field: 'from' | 'to'): Date | undefined => {
    const value = text(field)
    if (value === undefined) return undefined
    // Date.parse alone reads "1" as 2001-01-01: a purge of "all matching" must not guess.
    const date = new Date(value)
    if (!ISO_8601.test(value) || Number.isNaN(date.getTime())) {
      throw new BadRequest(`filter field "${field}" is not an ISO 8601 time (2024-05-01 or 2024-05-01T12:00:00Z): ${JSON.stringify(value)}`)
    }
    return date
  }
  const filter: { -readonly [K in keyof DeadLetterFilter]: DeadLetterFilter[K] } = {}
  const topic = text('topic')
  const key = text('key')
  const error = text('error')
  const from = time('from')
  const to = time('to')
  if (topic !== undefined) filter.topic = topic
  if (key !== undefined) filter.key = key
  if (error !== undefined) filter.errorContains = error
  if (from !== undefined) filter.deadFrom = from
  if (to !== undefined) filter.deadTo = to
  return filter
}
