import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

// The published builds, loaded the way users load them: `import` (ESM) and
// `require` (CommonJS), from a package that depends on them. `pnpm test`
// builds before running this.
const here = fileURLToPath(new URL('.', import.meta.url))

const exported: Record<string, string[]> = {
  '@txbox/core': ['withTransaction', 'enqueueOnCommit', 'onCommit', 'onRollback', 'migrate', 'migrationSql', 'createRelay', 'processOnce', 'pruneInbox', 'TxboxError', 'NotInTransactionError'],
  '@txbox/redis': ['redisStreamsPublisher', 'consumeRedisStream', 'RedisStreamWriteError'],
  '@txbox/rabbitmq': ['rabbitmqPublisher', 'consumeRabbitmq', 'RabbitmqPublishError', 'UndecodableMessageError'],
  '@txbox/bullmq': ['bullmqPublisher', 'withProcessOnce', 'broker', 'DEFAULT_RETENTION', 'BullmqAddError', 'BullmqJobIdError', 'BullmqConnectError'],
  '@txbox/nats': ['natsPublisher', 'consumeNats', 'broker', 'NatsPublishError'],
  '@txbox/prometheus': ['relayMetrics', 'relayHealth', 'monitoringHandler', 'serveRelayMonitoring'],
  '@txbox/dashboard': ['dashboardHandler', 'serveDashboard'],
  '@txbox/nestjs': ['TxboxModule', 'OutboxService', 'TXBOX_RELAY'],
}

function load(pkg: string, how: 'import' | 'require'): string[] {
  const code =
    how === 'import'
      ? `import(${JSON.stringify(pkg)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`
      : `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(pkg)}))))`
  const out = execFileSync(process.execPath, ['-e', code], { cwd: here, encoding: 'utf8' })
  return JSON.parse(out) as string[]
}

describe.each(Object.entries(exported))('%s builds', (pkg, names) => {
  test.each(['import', 'require'] as const)('load with %s and export the public API', (how) => {
    expect(load(pkg, how)).toEqual(expect.arrayContaining(names))
  })
})
