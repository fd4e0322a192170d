/**
 * Rewrites a statement with `$1…$n` placeholders into knex's `?` form, with
 * the values in order of appearance (`$3` used twice becomes two `?` with the
 * same value). knex (and MikroORM 6, built on it) only binds `?`: given `$1`
 * it passes the text through and then fails on the parameter count.
 *
 * A literal `?` in the text (a jsonb operator) is escaped as `\?`, which knex
 * turns back into `?`. txbox's statements hold no `$n` inside string literals
 * or dollar quotes, which this rewrite would not recognise.
 */
export function toQuestionMarks(text: string, values: readonly unknown[]): { text: string; values: unknown[] } {
  const ordered: unknown[] = []
  const rewritten = text.replace(/\?|\$(\d+)/g, (_match, index: string | undefined) => {
    if (index === undefined) return '\\?'
    ordered.push(values[Number(index) - 1])
    return '?'
  })
  return { text: rewritten, values: ordered }
}
