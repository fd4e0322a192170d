import { readFileSync } from 'node:fs'
import { beforeAll, expect, test } from 'vitest'
// @ts-expect-error: a plain ESM script without types (scripts/cli-docs.mjs).
import { COMMANDS, DOCS_PATH, renderReference, withReference } from '../../scripts/cli-docs.mjs'
import { ensureCliBuilt } from './cli-process.js'

beforeAll(ensureCliBuilt, 180_000)

test('docs/cli.md shows the real --help of every command (regenerate: pnpm --filter @txbox/core docs:cli)', () => {
  const doc = readFileSync(DOCS_PATH, 'utf8')
  const reference = renderReference()
  for (const command of COMMANDS as string[][]) expect(reference).toContain(`### \`${['txbox', ...command].join(' ')}\``)
  expect(doc).toBe(withReference(doc, reference))
})
