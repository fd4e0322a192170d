import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { CliError } from './cli-error.js'

/**
 * Imports a package installed in the user's project (the current directory),
 * not next to the CLI: the adapters and their clients are the user's own
 * dependencies, at the versions the user chose. ESM entry points are preferred
 * (the package's `exports["."].import`), so an adapter shares module instances
 * with the user's code.
 *
 * A package that is not installed is a CliError naming what to install.
 */
export async function importFromProject(name: string, why: string, install: string, cwd = process.cwd()): Promise<any> {
  const require = createRequire(path.join(cwd, 'package.json'))
  let entry: string
  try {
    entry = esmEntry(require, name) ?? require.resolve(name)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      throw new CliError(`${why} needs ${name}, which is not installed in ${cwd}. Install it there: ${install}`)
    }
    throw error
  }
  return import(pathToFileURL(entry).href)
}

function esmEntry(require: NodeJS.Require, name: string): string | undefined {
  let manifestPath: string
  try {
    manifestPath = require.resolve(`${name}/package.json`)
  } catch {
    // No "./package.json" in its exports map: fall back to require.resolve(name).
    return undefined
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: unknown; module?: unknown }
  const root = (manifest.exports as Record<string, unknown> | undefined)?.['.'] ?? manifest.exports
  const importCondition = typeof root === 'object' && root !== null ? (root as Record<string, unknown>).import : undefined
  const target =
    typeof importCondition === 'string'
      ? importCondition
      : typeof importCondition === 'object' && importCondition !== null
        ? (importCondition as Record<string, unknown>).default
        : undefined
  if (typeof target !== 'string') return undefined
  return path.join(path.dirname(manifestPath), target)
}
