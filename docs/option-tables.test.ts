import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { API_PATH, begin, CLI_PATH, TABLES, withTables } from './option-tables.js'

describe('the option tables of the docs are generated from the declarations (regenerate: pnpm --filter @txbox/core docs:options)', () => {
  for (const path of [API_PATH, CLI_PATH]) {
    it(`${path.split('/').slice(-2).join('/')} shows the options as declared`, () => {
      const doc = readFileSync(path, 'utf8')
      expect(doc).toBe(withTables(doc))
    })
  }

  it('every declared table is in the docs', () => {
    const docs = readFileSync(API_PATH, 'utf8') + readFileSync(CLI_PATH, 'utf8')
    expect(Object.keys(TABLES).filter((name) => !docs.includes(begin(name)))).toEqual([])
  })

  it('a table that drifted from its declaration is found', () => {
    const name = 'createRelay'
    const drifted = `${begin(name)}\n\n| Option | Default |\n| --- | --- |\n| \`batchSize\` | 100 |\n\n<!-- END GENERATED OPTIONS -->`
    expect(withTables(drifted)).not.toBe(drifted)
    expect(withTables(drifted)).toContain('| `batchSize` | integer | 500 | 1–10000 | `--batch-size <n>` |')
  })
})
