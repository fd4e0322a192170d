import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BASE_PAGE, extractBlocks, extractProjectFiles, formatError, projectOf, readBlocks, typeCheckBlocks } from './code-blocks.js'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('documentation code blocks', () => {
  it('every ```ts block in README.md, the packages\' READMEs and docs/ type-checks against the packages', () => {
    const blocks = readBlocks(root)
    for (const file of ['README.md', 'docs/getting-started.md', 'docs/concepts.md', 'docs/operations.md', 'docs/api.md']) {
      expect(blocks.some((b) => b.file === file), `${file} has ts blocks`).toBe(true)
    }
    const errors = typeCheckBlocks(root, blocks).map(formatError)
    expect(errors, `documentation code blocks that do not compile:\n${errors.join('\n')}`).toEqual([])
    // One program over every block: 57 s, and 81 s with docs/orms/nestjs.md (Nest's and Prisma's types), at a load average of 20 on 2 cores.
  }, 180_000)

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

  it('blocks with a file: comment form their page\'s project on top of the base page\'s: ./db.js resolves to the base page\'s src/db.ts', () => {
    const base = ['<!-- file: src/db.ts -->', '```ts', 'export const answer = 42', '```', '<!-- file: tsconfig.json -->', '```json', '{}', '```'].join('\n')
    const page = [
      '# A page', // 1
      '<!-- prelude: declare const unused: number -->', // 2
      '<!-- file: src/use.ts -->', // 3
      '```ts', // 4
      "import { answer } from './db.js'", // 5
      'const wrong: string = answer', // 6
      '```', // 7
    ].join('\n')
    const blocks = [...extractBlocks(BASE_PAGE, base), ...extractBlocks('docs/example.md', page)]
    expect(blocks.map((b) => [b.file, b.path, b.prelude])).toEqual([
      [BASE_PAGE, 'src/db.ts', ''],
      ['docs/example.md', 'src/use.ts', 'declare const unused: number'],
    ])
    const errors = typeCheckBlocks(root, blocks).map(formatError)
    expect(errors).toEqual([expect.stringMatching(/^docs\/example\.md:6: TS2322: Type 'number' is not assignable to type 'string'/)])
    const files = [...extractProjectFiles(BASE_PAGE, base), ...extractProjectFiles('docs/example.md', page)]
    expect([...projectOf('docs/example.md', files).keys()].sort()).toEqual(['src/db.ts', 'src/use.ts', 'tsconfig.json'])
  }, 60_000)
})
