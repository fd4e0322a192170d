import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string) => readFileSync(new URL(path, new URL('..', import.meta.url)), 'utf8')

/** The names a package's index.ts re-exports (values and types). */
function exportedNames(indexSource: string): string[] {
  const names: string[] = []
  for (const [, list] of indexSource.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item.replace(/\btype\s+/, '').split(/\s+as\s+/).pop()!.trim()
      if (name) names.push(name)
    }
  }
  return names
}

/** The names in the first column of the tables of one `## \`@txbox/x\`` section of api.md. */
function documentedNames(apiPage: string, packageName: string): string[] {
  const start = apiPage.indexOf(`## \`${packageName}\``)
  if (start < 0) return []
  const next = apiPage.indexOf('\n## ', start + 1)
  // The generated option tables (docs/option-tables.ts) list options, not exports.
  const section = apiPage.slice(start, next < 0 ? undefined : next).replace(/<!-- BEGIN GENERATED OPTIONS[\s\S]*?<!-- END GENERATED OPTIONS -->/g, '')
  return [...section.matchAll(/^\| `([A-Za-z_$][\w$]*)` \|/gm)].map((m) => m[1]!)
}

describe('docs/api.md', () => {
  const apiPage = read('docs/api.md')
  for (const name of ['core', 'redis', 'rabbitmq', 'bullmq', 'nats', 'prometheus', 'dashboard', 'nestjs']) {
    it(`lists every export of @txbox/${name}, and only those`, () => {
      const exported = exportedNames(read(`packages/${name}/src/index.ts`)).sort()
      const documented = documentedNames(apiPage, `@txbox/${name}`).sort()
      expect(exported.length, `packages/${name}/src/index.ts exports names`).toBeGreaterThan(0)
      expect({ missingFromDocs: exported.filter((n) => !documented.includes(n)), notExported: documented.filter((n) => !exported.includes(n)) }).toEqual({
        missingFromDocs: [],
        notExported: [],
      })
    })
  }

  it('reads the export lists the way the packages write them', () => {
    const names = exportedNames(`export { a, type B } from './x.js'\nexport type {\n  C,\n  D,\n} from './y.js'\nexport { e as f } from './z.js'`)
    expect(names).toEqual(['a', 'B', 'C', 'D', 'f'])
  })
})
