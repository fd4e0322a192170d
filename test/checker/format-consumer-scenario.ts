import type { ConsumerCheckReport } from './check-consumer-history.js'
import type { ConsumedMessageSpec, ConsumerAction, ConsumerRunConfig, ConsumerScenario } from './consumer-scenario-model.js'
import { describeViolations, kindsOf } from './violations.js'

/** The consumer scenario as numbered lines a person can read, then as JSON to replay. */
export function formatConsumerScenario(scenario: ConsumerScenario): string {
  const lines = [
    `  config: ${formatConsumerConfig(scenario.config)}`,
    '  actions:',
    ...scenario.actions.map((action, i) => `    ${String(i + 1).padStart(2)}. ${formatConsumerAction(action)}`),
  ]
  lines.push(`  replay: TXBOX_CHECKER_REPLAY='${JSON.stringify(scenario)}' pnpm test:soak`)
  return lines.join('\n')
}

export function formatConsumerConfig(c: ConsumerRunConfig): string {
  const broker =
    c.broker === 'redis' ? `redis count ${c.batch} claimIdleMs ${c.claimIdleMs} handlerTimeoutMs ${c.handlerTimeoutMs}` : `rabbitmq ${c.queueType} prefetch ${c.batch}`
  return [broker, `${c.consumers} consumer(s)`, `maxDeliveries ${c.maxDeliveries}`, c.processOnce ? 'processOnce' : 'plain handler', `${c.keys} keys`].join(', ')
}

export function formatConsumerAction(a: ConsumerAction): string {
  switch (a.t) {
    case 'publish':
      return `publish [${a.messages.map(formatMessage).join(', ')}]`
    case 'crash':
      return `consumer ${a.consumer}: ${a.how === 'drop' ? 'connection dropped' : a.how === 'kill' ? 'killed' : 'stopped'}${a.how !== 'drop' ? `, restarted${a.rename ? ' under a new name' : ''}` : ''}`
    case 'pause':
      return `pause ${a.ms}ms`
    case 'quiesce':
      return 'wait until everything published is handled or dead'
  }
}

function formatMessage(m: ConsumedMessageSpec): string {
  const parts = [m.key === null ? 'unkeyed' : `k${m.key}`]
  if (m.fails > 0) parts.push(`fails ${m.fails}× by ${m.failBy}`)
  if (m.slowMs > 0) parts.push(`slow ${m.slowMs}ms`)
  return parts.join(' ')
}

export function formatConsumerRunLine(scenario: ConsumerScenario, report: ConsumerCheckReport, durationMs: number): string {
  const s = report.stats
  const kinds = kindsOf(report.violations)
  return (
    `[checker] consumers seed=${scenario.seed} ${scenario.config.broker} actions=${scenario.actions.length} published=${s.published} handled=${s.handled} ` +
    `dead=${s.dead} runs=${s.calls} duplicates=${s.duplicates} crashes=${s.crashes} ${(durationMs / 1000).toFixed(1)}s ${kinds.length === 0 ? 'ok' : `FAILED: ${kinds.join(', ')}`}`
  )
}

export function formatConsumerFailure(scenario: ConsumerScenario, report: ConsumerCheckReport, log: readonly string[]): string {
  const tail = log.slice(-15).map((line) => `    ${line}`)
  return `${describeViolations(report.violations)}\n${tail.length > 0 ? `  consumer log (last ${tail.length} lines):\n${tail.join('\n')}\n` : ''}${formatConsumerScenario(scenario)}`
}
