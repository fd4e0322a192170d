// `pnpm test:soak`: bundles soak-main.ts (with @txbox/* from the sources, as
// the tests run them) and runs it in this process. The bundle goes under
// test/node_modules, so the packages left external resolve from there.
import { mkdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const outfile = fileURLToPath(new URL('../node_modules/.cache/txbox-checker/soak.mjs', import.meta.url))
mkdirSync(new URL('../node_modules/.cache/txbox-checker/', import.meta.url), { recursive: true })
await build({
  entryPoints: [fileURLToPath(new URL('./soak-main.ts', import.meta.url))],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  tsconfig: fileURLToPath(new URL('../support/tsconfig.child.json', import.meta.url)),
  // vitest (imported, never called, by @txbox/testing) and esbuild stay packages.
  external: ['pg-native', 'vitest', 'esbuild'],
  logLevel: 'warning',
  banner: { js: "import { createRequire as __txboxCreateRequire } from 'node:module'; const require = __txboxCreateRequire(import.meta.url);" },
})
// The bundle lives elsewhere than the sources: tell it where the built CLI is.
process.env.TXBOX_CHECKER_CLI ??= fileURLToPath(new URL('../../packages/core/dist/cli/main.js', import.meta.url))
await import(pathToFileURL(outfile).href)
