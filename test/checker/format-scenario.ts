import type { CheckReport } from './check-history.js'
import type { Action, MessageSpec, RunConfig, Scenario, WriterStep } from './scenario-model.js'
import { describeViolations, kindsOf } from './violations.js'

/** The scenario as numbered lines a person can read, then as JSON to replay. */
export function formatScenario(scenario: Scenario): string {
  const lines = [`  config: ${formatConfig(scenario.config)}`, '  actions:', ...scenario.actions.map((action, i) => `    ${String(i + 1).padStart(2)}. ${formatAction(action)}`)]
  lines.push(`  replay: TXBOX_CHECKER_REPLAY='${JSON.stringify(scenario)}' pnpm test:soak`)
  return lines.join('\n')
}

export function formatConfig(c: RunConfig): string {
  const settings = [
    c.settings.serializable && 'serializable',
    c.settings.idleInTransactionMs !== null && `idle_in_transaction_session_timeout=${c.settings.idleInTransactionMs}ms`,
    c.settings.statementTimeoutMs !== null && `statement_timeout=${c.settings.statementTimeoutMs}ms`,
  ].filter(Boolean)
  return [
    c.broker,
    `relays concurrency [${c.relays.join(', ')}]`,
    `blockKeyOnFailure ${c.blockKeyOnFailure}`,
    `batchSize ${c.batchSize}`,
    `publishTimeout ${c.publishTimeoutMs}ms`,
    `maxAttempts ${c.maxAttempts}`,
    `${c.keys} keys`,
    ...(c.oddInputs ? ['odd inputs'] : []),
    settings.length > 0 ? settings.join(' ') : 'server defaults',
  ].join(', ')
}

export function formatAction(a: Action): string {
  switch (a.t) {
    case 'tx':
      return `writer ${a.writer}: ${formatSteps(a.steps)}${a.holdMs > 0 ? `; hold ${a.holdMs}ms` : ''}; ${a.rollback ? 'ROLLBACK' : 'commit'}`
    case 'raw':
      return `row written by hand${a.nullHeaders ? ' with headers JSON null' : ''}`
    case 'fault':
      return `relay ${a.relay}: next call ${JSON.stringify(a.fault)}`
    case 'poison': {
      const target = 'key' in a.target ? `key k${a.target.key}` : `reused id #${a.target.reuse}`
      return `every relay refuses the next ${a.times} message(s) of ${target}${a.permanent ? ' permanently' : ''}`
    }
    case 'crash':
      return `relay ${a.relay} crashes${a.restart ? ', a new one takes over' : ' (sessions terminated)'}`
    case 'dead-retry':
      return `txbox dead retry ${a.select === 'all' ? '--all --yes' : '--id <up to 3 dead ids>'}`
    case 'dead-purge':
      return `txbox dead purge ${a.select === 'topic' ? '--topic <topic of a dead letter>' : '--id <a dead id>'} --yes`
    case 'pause':
      return `pause ${a.ms}ms`
    case 'quiesce':
      return 'wait until writers are idle and no row is ready'
  }
}

function formatSteps(steps: readonly WriterStep[]): string {
  return steps
    .map((step) =>
      step.s === 'savepoint'
        ? `savepoint { ${formatSteps(step.steps)} } ${step.rollback ? 'rolled back' : 'released'}`
        : step.array
          ? `enqueue [${step.messages.map(formatMessage).join(', ')}]`
          : step.messages.map((m) => `enqueue ${formatMessage(m)}`).join(', '),
    )
    .join(', ')
}

function formatMessage(m: MessageSpec): string {
  const parts = [m.key === null ? 'unkeyed' : `k${m.key}`]
  if (m.delayMs) parts.push(`delay ${m.delayMs}ms`)
  if (m.reuse !== undefined) parts.push(`id #${m.reuse}`)
  if (m.odd) parts.push(m.odd)
  if (m.topic === 'b') parts.push('topic b')
  return parts.join(' ')
}

/** One line: seed, size, outcome. */
export function formatRunLine(scenario: Scenario, report: CheckReport, durationMs: number): string {
  const s = report.stats
  const kinds = kindsOf(report.violations)
  return (
    `[checker] seed=${scenario.seed} ${scenario.config.broker} actions=${scenario.actions.length} committed=${s.committed} rolledBack=${s.rolledBack} ` +
    `deliveries=${s.deliveries} duplicates=${s.duplicates} dead=${s.dead} calls=${s.calls} crashes=${s.crashes} commands=${s.commands}${s.commandsFailed ? `(${s.commandsFailed} failed)` : ''} ` +
    `${(durationMs / 1000).toFixed(1)}s ${kinds.length === 0 ? 'ok' : `FAILED: ${kinds.join(', ')}`}`
  )
}

export function formatFailure(scenario: Scenario, report: CheckReport): string {
  return `${describeViolations(report.violations)}\n${formatScenario(scenario)}`
}
