/** A table in a benchmark's result: printed on the terminal and written to the Markdown results. */
export interface ResultTable {
  readonly title: string
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

/** Renders a Markdown table; it reads well on a terminal too. */
export function renderTable(table: ResultTable): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [
    `#### ${table.title}`,
    '',
    line(table.headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...table.rows.map(line),
  ].join('\n')
}
