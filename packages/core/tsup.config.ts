import { defineConfig } from 'tsup'

export default defineConfig([
  {
    // adapter: what the adapter packages share (@txbox/core/adapter); one
    // build, so both entries share one copy of the error classes.
    entry: { index: 'src/index.ts', adapter: 'src/adapter/index.ts' },
    // ESM only: CommonJS users load it with require() (require(esm), Node
    // 20.19+). One copy of the module means one transaction scope
    // (AsyncLocalStorage) and one set of error classes, whatever mix of
    // import and require an app uses.
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  {
    // The CLI is an ESM executable; it is not part of the import surface.
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
])
