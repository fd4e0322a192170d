import { type Command, InvalidArgumentError, Option } from 'commander'
import { type OptionDeclaration, type OptionDeclarations, Rejection } from '../options/option-declaration.js'
import { defaultText, flagName, flagUsage, rangeText } from '../options/option-table.js'

/** A flag generated from an option declaration, and where its value goes in the options object. */
interface GeneratedFlag {
  /** The option's path: ['batchSize'], ['backoff', 'initialDelay']. */
  readonly path: readonly string[]
  /** Commander's name for its value: `batchSize`, `backoffInitialDelay`. */
  readonly key: string
}

/**
 * Adds a flag for every declaration marked `cli` (nested ones too:
 * `--backoff-initial-delay`), with the declaration's description, default
 * and range as help, and its check as the parser: a bad value is a usage
 * error (exit 2) naming what is expected. Returns what
 * {@link optionsFromFlags} needs to build the options back.
 */
export function addOptionFlags(command: Command, declarations: OptionDeclarations, path: readonly string[] = []): GeneratedFlag[] {
  const flags: GeneratedFlag[] = []
  for (const [name, declaration] of Object.entries(declarations)) {
    if (!declaration.cli) continue
    const at = [...path, name]
    if (declaration.fields) {
      flags.push(...addOptionFlags(command, declaration.fields, at))
      continue
    }
    const option = new Option(flagUsage(at, declaration), helpOf(declaration))
    // Table names are checked as a set, by the command (see tableNamesFor), which names the clashing flag.
    if (declaration.type !== 'boolean' && declaration.type !== 'identifier') option.argParser(parserOf(declaration))
    command.addOption(option)
    flags.push({ path: at, key: option.attributeName() })
  }
  return flags
}

/** The options the user gave as flags (those left out stay out, so the function's own defaults apply). */
export function optionsFromFlags(command: Command, flags: readonly GeneratedFlag[]): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  for (const { path, key } of flags) {
    if (command.getOptionValueSource(key) !== 'cli') continue
    let target = options
    for (const part of path.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>
    target[path.at(-1) as string] = command.getOptionValue(key)
  }
  return options
}

function helpOf(declaration: OptionDeclaration): string {
  const range = rangeText(declaration)
  // Lower-case and without a full stop, as commander's own help lines are.
  const description = declaration.description.replace(/\.$/, '').replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())
  if (declaration.type === 'boolean') return `${description} (default: ${declaration.default ? 'on; this flag turns it off' : 'off; this flag turns it on'})`
  return `${description} (default: ${defaultText(declaration)}${range ? `; ${range}` : ''})`
}

/** Parses the flag's text as the declaration's type, then checks it as the API would. */
function parserOf(declaration: OptionDeclaration): (value: string) => unknown {
  return (value) => {
    let parsed: unknown = value
    if (declaration.type === 'integer' || declaration.type === 'number') {
      parsed = value.trim() === '' ? Number.NaN : Number(value)
      if (declaration.type === 'integer' && !/^\s*-?\d+\s*$/.test(value)) parsed = Number.NaN
    }
    const accepted = declaration.accept(parsed)
    if (accepted instanceof Rejection) {
      const range = rangeText(declaration)
      const what = declaration.type === 'integer' ? `an integer${range ? ` from ${range.replace('–', ' to ')}` : ''}` : accepted.expected
      throw new InvalidArgumentError(`expected ${what}.`)
    }
    return accepted
  }
}

export { flagName }
