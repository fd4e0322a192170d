import type { BrokerFlags } from '../broker-descriptor.js'
import { CliError } from './cli-error.js'

/**
 * The broker flags of `txbox relay`: those it declares (`declared`), and
 * the options it does not know (`--queue jobs`, `--subject=x`), left by
 * commander in `args`, which belong to the broker's adapter: it says which it
 * takes (BrokerDescriptor.flags) and refuses the others. `--max-len` becomes
 * `maxLen`, as the descriptors name them.
 */
export function brokerFlagsFrom(args: readonly string[], declared: BrokerFlags): BrokerFlags {
  const flags: Record<string, string | number | undefined> = { ...declared }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const option = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg)
    if (!option) throw new CliError(`unexpected argument '${arg}': txbox relay takes options only (see txbox relay --help).`, 'usage')
    const name = (option[1] as string).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
    let value = option[2]
    if (value === undefined) {
      const next = args[i + 1]
      if (next === undefined || next.startsWith('--')) throw new CliError(`option '--${option[1]}' needs a value.`, 'usage')
      value = next
      i++
    }
    flags[name] = value
  }
  return flags
}
