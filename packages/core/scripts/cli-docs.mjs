#!/usr/bin/env node
// Regenerates the command reference in docs/cli.md from the built CLI's real
// `--help` output (run `pnpm --filter @txbox/core docs:cli` after a build).
// The text outside the markers is written by hand and kept as it is; a test
// (packages/core/test/cli/cli-docs.test.ts) fails when the reference is stale.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const DOCS_PATH = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url))
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const BEGIN = '<!-- BEGIN GENERATED: txbox --help (pnpm --filter @txbox/core docs:cli) -->'
const END = '<!-- END GENERATED -->'

/** The commands documented, in order. */
export const COMMANDS = [[], ['migrate'], ['relay'], ['status'], ['dead'], ['dead', 'list'], ['dead', 'retry'], ['dead', 'purge'], ['doctor']]

/** The help text of one command, as the built CLI prints it to a pipe (80 columns, no colour). */
export function helpText(command) {
  return execFileSync(process.execPath, [CLI, ...command, '--help'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  })
}

/** The generated reference: one section per command with its help text. */
export function renderReference(help = helpText) {
  const sections = COMMANDS.map((command) => {
    const name = ['txbox', ...command].join(' ')
    return `### \`${name}\`\n\n\`\`\`text\n${help(command).trimEnd()}\n\`\`\``
  })
  return `${BEGIN}\n\n${sections.join('\n\n')}\n\n${END}`
}

/** docs/cli.md with its generated part replaced by `reference`. */
export function withReference(doc, reference) {
  const start = doc.indexOf(BEGIN)
  const end = doc.indexOf(END)
  if (start < 0 || end < start) throw new Error(`${DOCS_PATH}: the markers ${BEGIN} … ${END} are missing`)
  return doc.slice(0, start) + reference + doc.slice(end + END.length)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DOCS_PATH, 'utf8')
  writeFileSync(DOCS_PATH, withReference(doc, renderReference()))
  console.log(`updated ${DOCS_PATH}`)
}
