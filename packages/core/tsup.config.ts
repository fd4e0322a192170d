import { defineConfig } from 'tsup'

export default defineConfig([
  {
    // adapter: the subpath @txbox/core/adapter. One build, so both entries
    // share one chunk: one InvalidOptionError class, whichever entry throws it.
    entry: { index: 'src/index.ts', adapter: 'src/adapter.ts' },
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
