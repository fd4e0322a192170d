import type { OptionDeclaration, OptionDeclarations } from './option-declaration.js'

/** `batchSize` → `batch-size`: the `txbox relay` flag of an option (nested: `backoff-initial-delay`). */
export function flagName(path: readonly string[]): string {
  return path.map((part) => part.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join('-')
}

/** The flag as `--help` shows it: `--batch-size <n>`, `--no-block-key-on-failure`. */
export function flagUsage(path: readonly string[], declaration: OptionDeclaration): string {
  const name = flagName(path)
  if (declaration.type === 'boolean') return declaration.default === true ? `--no-${name}` : `--${name}`
  return `--${name} <${declaration.unit ?? (declaration.type === 'integer' || declaration.type === 'number' ? 'n' : 'name')}>`
}

/** The default as the docs say it. */
export function defaultText(declaration: OptionDeclaration): string {
  if (declaration.defaultText !== undefined) return declaration.defaultText
  if (declaration.required) return 'required'
  const value = declaration.default
  if (value === undefined) return 'none'
  if (typeof value === 'string') return `'${value}'`
  return `${String(value)}${declaration.unit && typeof value === 'number' ? ` ${declaration.unit}` : ''}`
}

/** The accepted range of a number option: `1–10000`, `≥ 1`. */
export function rangeText(declaration: OptionDeclaration): string {
  const { min, max } = declaration
  if (min === undefined) return ''
  return max === undefined ? `≥ ${min}` : `${min}–${max}`
}

const cell = (text: string) => text.replace(/\|/g, '\\|')

/**
 * The options of one function as a Markdown table, from their declarations
 * (docs/api.md and docs/cli.md are generated with it). With `flags`, a column
 * shows the `txbox relay` flag of each option that has one.
 */
export function renderOptionTable(declarations: OptionDeclarations, { flags = false }: { flags?: boolean } = {}): string {
  const header = ['Option', 'Type', 'Default', 'Range', ...(flags ? ['Flag'] : []), 'What it does']
  const rows: string[][] = []
  const add = (path: string[], declaration: OptionDeclaration) => {
    rows.push([
      `\`${path.join('.')}\``,
      declaration.type,
      defaultText(declaration),
      rangeText(declaration),
      ...(flags ? [declaration.cli && !declaration.fields ? `\`${flagUsage(path, declaration)}\`` : ''] : []),
      declaration.description,
    ])
    for (const [name, field] of Object.entries(declaration.fields ?? {})) add([...path, name], field)
  }
  for (const [name, declaration] of Object.entries(declarations)) add([name], declaration)
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}
