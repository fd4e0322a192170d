import type { DeadLetterRef, DeadLetterSelection } from '../dead-letters/dead-letter-selection.js'
import type { Command } from 'commander'
import { CliError } from './cli-error.js'

/** Which dead letters a `txbox dead retry|purge` command (or the dashboard) acts on. */
export type DeadSelection = DeadLetterSelection

export interface SelectionFlags {
  id?: string[]
  topic?: string
  all?: boolean
  yes?: boolean
}

/** A dead letter a command selected and holds locked until its transaction ends. */
export type LockedDeadLetter = DeadLetterRef

/**
 * The selection flags of `dead retry` and `dead purge`: `needsYes` is said
 * after --topic and --all (' (needs --yes)' or ''), `yes` is what --yes confirms.
 */
export function addSelectionOptions(command: Command, texts: { readonly needsYes: string; readonly yes: string }): Command {
  return command
    .option('--id <messageId...>', 'the dead letters with these message ids')
    .option('--topic <topic>', `every dead letter of this topic${texts.needsYes}`)
    .option('--all', `every dead letter${texts.needsYes}`)
    .option('--yes', texts.yes)
}

/** Exactly one of --id, --topic, --all; anything else is a usage error. */
export function deadSelection(command: string, flags: SelectionFlags): DeadSelection {
  const given = [flags.id !== undefined, flags.topic !== undefined, flags.all === true].filter(Boolean).length
  if (given !== 1) {
    throw new CliError(`dead ${command}: choose the dead letters with exactly one of --id <messageId...>, --topic <topic> or --all.`, 'usage')
  }
  if (flags.id !== undefined) return { kind: 'ids', ids: [...new Set(flags.id)] }
  if (flags.topic !== undefined) return { kind: 'topic', topic: flags.topic }
  return { kind: 'all' }
}

/** Human words for the selection, for messages. */
export function describeSelection(selection: DeadSelection): string {
  if (selection.kind === 'ids') return `${selection.ids.length} dead letter(s) by message id`
  if (selection.kind === 'topic') return `the dead letters of topic "${selection.topic}"`
  if (selection.kind === 'filter') return 'the dead letters matching the filter'
  return 'every dead letter'
}

/** The problem to report when ids asked for with --id matched no dead letter (none or one line). */
export function missingIdProblems(selection: DeadSelection, found: readonly LockedDeadLetter[]): string[] {
  if (selection.kind !== 'ids') return []
  const seen = new Set(found.map((d) => d.messageId))
  const missing = selection.ids.filter((id) => !seen.has(id))
  return missing.length > 0 ? [`no dead letter with message id ${missing.join(', ')}`] : []
}
