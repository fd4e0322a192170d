import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; the built packages are checked by the
    // CLI tests (which spawn dist/) and by `pnpm check:packages`.
    alias: {
      // Before '@txbox/core', which would also match it as a prefix.
      '@txbox/core/adapter': src('./packages/core/src/adapter/index.ts'),
      '@txbox/core': src('./packages/core/src/index.ts'),
      '@txbox/redis': src('./packages/redis/src/index.ts'),
      '@txbox/rabbitmq': src('./packages/rabbitmq/src/index.ts'),
      '@txbox/bullmq': src('./packages/bullmq/src/index.ts'),
      '@txbox/nats': src('./packages/nats/src/index.ts'),
      '@txbox/prometheus': src('./packages/prometheus/src/index.ts'),
      '@txbox/dashboard': src('./packages/dashboard/src/index.ts'),
      '@txbox/nestjs': src('./packages/nestjs/src/index.ts'),
      '@txbox/testing': src('./packages/testing/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'docs/**/*.test.ts'],
    globalSetup: ['./packages/testing/src/global-setup.ts'],
    setupFiles: ['./packages/testing/src/leak-check.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: two files at a time keeps database and broker load sane.
    maxWorkers: 2,
    sequence: { hooks: 'stack' },
    // CI also writes a JSON summary, from which .ci/run prints "N passed, N failed".
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results/results.json' }]] : ['default'],
  },
})
