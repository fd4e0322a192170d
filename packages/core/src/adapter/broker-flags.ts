import { InvalidOptionError } from '../errors/invalid-option-error.js'
import type { BrokerFlags } from '../broker-descriptor.js'

/** `maxLen` → `--max-len`: how a flag of {@link BrokerDescriptor.flags} is spelt on the command line. */
function flagName(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/**
 * The flags given to a broker descriptor's `open()`, checked against those it
 * declares (`brokerName` as users spell it: 'BullMQ'): a flag of another broker (`--exchange` with a Redis URL) is an
 * {@link InvalidOptionError} naming the ones it takes, not a silent no-op.
 * Returns the given ones, as text (the CLI passes what the user typed).
 */
export function brokerFlagsOf(brokerName: string, known: Readonly<Record<string, string>>, flags: BrokerFlags): Record<string, string> {
  const given: Record<string, string> = {}
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue
    if (!Object.hasOwn(known, name)) {
      const names = Object.keys(known).map(flagName)
      const takes = names.length === 0 ? 'it takes none' : `it takes ${names.join(', ')}`
      throw new InvalidOptionError(name, `${flagName(name)} is not an option of the ${brokerName} broker; ${takes}.`)
    }
    given[name] = String(value)
  }
  return given
}
