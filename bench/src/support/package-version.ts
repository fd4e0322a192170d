import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The version of the installed package `specifier` resolves to (its
 * package.json, found above its entry point: some packages do not export it),
 * so that the bench prints what it ran rather than a version typed by hand.
 */
export function packageVersion(specifier: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(specifier)))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { version?: string; name?: string }
      if (json.version && json.name) return json.version
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json with a version above ${specifier}`)
    dir = parent
  }
}
