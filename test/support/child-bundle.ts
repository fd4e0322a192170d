import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const tsconfig = fileURLToPath(new URL('./tsconfig.child.json', import.meta.url))
const bundles = new Map<string, Promise<string>>()
let dir: string | undefined

/**
 * Bundles a TypeScript entry (and @txbox/* from the sources, as vitest runs
 * them) into one ESM file a child process can start with plain `node`.
 * Starting a bundle takes about 0.4 s where `node --import tsx` took 1.5–2 s
 * on the test machines, which adds up over twenty kills and restarts.
 * Built once per entry per test process, into a temporary directory removed
 * at exit.
 */
export function bundleForChild(entry: URL): Promise<string> {
  const source = fileURLToPath(entry)
  let bundle = bundles.get(source)
  if (!bundle) {
    if (!dir) {
      const made = mkdtempSync(join(tmpdir(), 'txbox-child-'))
      dir = made
      process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    }
    const outfile = join(dir, basename(source).replace(/\.ts$/, '.mjs'))
    bundle = build({
      entryPoints: [source],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      tsconfig,
      external: ['pg-native'],
      logLevel: 'warning',
      // Bundled CommonJS dependencies (pg, ioredis) call require().
      banner: { js: "import { createRequire as __txboxCreateRequire } from 'node:module'; const require = __txboxCreateRequire(import.meta.url);" },
    }).then(() => outfile)
    bundles.set(source, bundle)
  }
  return bundle
}
