import { InvalidOptionError } from '../errors/invalid-option-error.js'

/** The consumer name, checked: any string (empty means the single default consumer). */
export function consumerName(where: string, consumer: unknown): string {
  if (consumer === undefined) return ''
  if (typeof consumer !== 'string') {
    throw new InvalidOptionError('consumer', `${where}: consumer must be a string naming the consuming service, e.g. 'billing'; got ${typeof consumer}.`)
  }
  return consumer
}
