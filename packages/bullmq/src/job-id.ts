/**
 * Why BullMQ would refuse `id` as a custom job id, or `undefined` when it
 * takes it. Checked per message, before anything is sent.
 *
 * BullMQ 6 (`Job.validateOptions`) throws on an id that `parseInt` reads back
 * unchanged ("Custom Id cannot be integers": integer ids are the ones its
 * counter hands out, so a custom one could collide with them) and on an id
 * with `:` unless it has exactly two (kept for old repeatable jobs; its source
 * marks this for a plain "no `:`" rule in the next major). We refuse every
 * `:`: the same rule in every version, and no id that looks like a repeatable
 * job's.
 */
export function jobIdProblem(id: string): string | undefined {
  if (`${Number.parseInt(id, 10)}` === id) return 'it is an integer, and BullMQ keeps integer job ids for the ones it numbers itself'
  if (id.includes(':')) return "it contains ':', which BullMQ refuses in custom job ids (it separates the parts of its Redis keys)"
  return undefined
}
