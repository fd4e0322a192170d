import { CliError } from './cli-error.js'

/** Which dead letters a `txbox dead retry|purge` command acts on. */
export type DeadSelection = { kind: 'ids'; ids: string[] } | { kind: 'topic'; topic: string } | { kind: 'all' }

export interface SelectionFlags {
  id?: string[]
  topic?: string
  all?: boolean
  yes?: boolean
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

/** A WHERE condition on the dead table for `selection`, its parameter at `$${param}`. */
export function selectionWhere(selection: DeadSelection, param: number): { sql: string; params: unknown[] } {
  switch (selection.kind) {
    case 'ids':
      return { sql: `message_id = ANY($${param}::text[])`, params: [selection.ids] }
    case 'topic':
      return { sql: `topic = $${param}::text`, params: [selection.topic] }
    case 'all':
      return { sql: 'true', params: [] }
  }
}

/** Human words for the selection, for messages. */
export function describeSelection(selection: DeadSelection): string {
  if (selection.kind === 'ids') return `${selection.ids.length} dead letter(s) by message id`
  if (selection.kind === 'topic') return `the dead letters of topic "${selection.topic}"`
  return 'every dead letter'
}

/** The ids asked for with --id that matched no dead letter. */
export function missingIds(selection: DeadSelection, found: readonly string[]): string[] {
  if (selection.kind !== 'ids') return []
  const seen = new Set(found)
  return selection.ids.filter((id) => !seen.has(id))
}
