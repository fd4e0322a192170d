import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

// A package's README is what npm shows, from the tarball: a relative link to
// a file the tarball does not hold (../../docs/…) is broken there. Links go to
// files the package ships, or to the repository that package.json names.
const root = fileURLToPath(new URL('..', import.meta.url))
const published = readdirSync(join(root, 'packages'))
  .map((name) => ({ name, manifest: JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => manifest.private !== true)

/** The targets of the Markdown links of `text`: [text](target). */
function linkTargets(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

/** The repository's web address from package.json (`git+https://github.com/o/r.git` → `https://github.com/o/r`), if any. */
function repositoryWeb(manifest: { repository?: string | { url?: string } }): string | undefined {
  const url = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url
  return url?.replace(/^git\+/, '').replace(/\.git$/, '')
}

describe.each(published)('packages/$name/README.md', ({ name, manifest }) => {
  const readme = readFileSync(join(root, 'packages', name, 'README.md'), 'utf8')

  test('links only to files the package ships or to absolute addresses (npm shows the README from the tarball)', () => {
    const shipped: string[] = manifest.files ?? []
    const broken = linkTargets(readme).filter((target) => {
      if (/^(https?:|mailto:|#)/.test(target)) return false
      const path = target.split('#')[0] as string
      const top = path.replace(/^\.\//, '').split('/')[0] as string
      return path.startsWith('..') || !shipped.includes(top) || !existsSync(join(root, 'packages', name, path))
    })
    expect(broken).toEqual([])
  })

  test("links into the repository go to the repository package.json names", () => {
    const web = repositoryWeb(manifest)
    const github = linkTargets(readme).filter((target) => target.startsWith('https://github.com/'))
    if (web === undefined) expect(github).toEqual([])
    else for (const target of github) expect(target.startsWith(web), target).toBe(true)
  })
})
