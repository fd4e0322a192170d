import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { extractBlocks, formatError, readBlocks, typeCheckBlocks } from './code-blocks.js'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('documentation code blocks', () => {
  it('every ```ts block in README.md, packages/core/README.md and docs/ type-checks against the packages', () => {
    const blocks = readBlocks(root)
    for (const file of ['README.md', 'docs/getting-started.md', 'docs/concepts.md', 'docs/operations.md', 'docs/api.md']) {
      expect(blocks.some((b) => b.file === file), `${file} has ts blocks`).toBe(true)
    }
    const errors = typeCheckBlocks(root, blocks).map(formatError)
    expect(errors, `documentation code blocks that do not compile:\n${errors.join('\n')}`).toEqual([])
  }, 60_000)

  it('reports a wrong block with its Markdown file and line, and applies the hidden prelude', () => {
    const markdown = [
      '# A page', // 1
      '<!-- prelude: declare const count: number -->', // 2
      '```ts', // 3
      'const doubled: number = count * 2', // 4
      "const wrong: string = doubled", // 5
      '```', // 6
      '```sh', // 7
      'pnpm test', // 8
      '```', // 9
      '```ts', // 10
      "import { withTransaction } from '@txbox/core'", // 11
      'withTransaction(missingName, async () => {})', // 12
      '```', // 13
    ].join('\n')
    const blocks = extractBlocks('docs/example.md', markdown)
    expect(blocks.map((b) => [b.line, b.prelude])).toEqual([
      [4, 'declare const count: number'],
      [11, ''],
    ])
    const errors = typeCheckBlocks(root, blocks).map(formatError)
    expect(errors).toHaveLength(2)
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^docs\/example\.md:5: TS2322: Type 'number' is not assignable to type 'string'/),
        expect.stringMatching(/^docs\/example\.md:12: TS2304: Cannot find name 'missingName'/),
      ]),
    )
  }, 60_000)
})
