import type { Action, MessageSpec, Scenario, WriterStep } from './scenario-model.js'

/**
 * Parts of a scenario a soak can leave out (`--exclude`): to look past a
 * known defect for the next one, or to check a fix alone.
 */
export const FEATURES = [
  'serializable',
  'idle-timeout',
  'statement-timeout',
  'odd-inputs',
  'null-headers',
  'non-blocking',
  'crashes',
  'dead-commands',
  'faults',
  /** Late and slow replies (publish timeouts). */
  'timeouts',
  'delays',
  'reused-ids',
] as const
export type Feature = (typeof FEATURES)[number]

export function parseFeatures(text: string): Feature[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of names) if (!(FEATURES as readonly string[]).includes(name)) throw new Error(`unknown feature ${name} (known: ${FEATURES.join(', ')})`)
  return names as Feature[]
}

/** The same scenario without `features`: settings at the server's defaults, actions dropped or plain. */
export function excludeFeatures(scenario: Scenario, features: readonly Feature[]): Scenario {
  if (features.length === 0) return scenario
  const has = (f: Feature) => features.includes(f)
  const c = scenario.config
  const config = {
    ...c,
    blockKeyOnFailure: has('non-blocking') ? true : c.blockKeyOnFailure,
    oddInputs: has('odd-inputs') ? false : c.oddInputs,
    settings: {
      serializable: has('serializable') ? false : c.settings.serializable,
      idleInTransactionMs: has('idle-timeout') ? null : c.settings.idleInTransactionMs,
      statementTimeoutMs: has('statement-timeout') ? null : c.settings.statementTimeoutMs,
    },
  }
  const plain = (m: MessageSpec): MessageSpec => {
    const { odd, delayMs, reuse, ...rest } = m
    return { ...rest, ...(has('odd-inputs') || !odd ? {} : { odd }), ...(has('delays') || !delayMs ? {} : { delayMs }), ...(has('reused-ids') || reuse === undefined ? {} : { reuse }) }
  }
  const actions = scenario.actions.flatMap((a): Action[] => {
    if ((a.t === 'crash' && has('crashes')) || ((a.t === 'fault' || a.t === 'poison') && has('faults'))) return []
    if ((a.t === 'dead-retry' || a.t === 'dead-purge') && has('dead-commands')) return []
    if (a.t === 'fault' && (a.fault.kind === 'late-reply' || a.fault.kind === 'slow-reply') && has('timeouts')) return []
    if (a.t === 'poison' && 'reuse' in a.target && has('reused-ids')) return []
    if (a.t === 'raw' && has('null-headers')) return [{ ...a, nullHeaders: false }]
    if (a.t === 'tx') return [{ ...a, steps: mapMessages(a.steps, plain) }]
    return [a]
  })
  return { ...scenario, config, actions }
}

/** The steps with every message passed through `f`. */
export function mapMessages(steps: readonly WriterStep[], f: (m: MessageSpec) => MessageSpec): WriterStep[] {
  return steps.map((step) => (step.s === 'savepoint' ? { ...step, steps: mapMessages(step.steps, f) } : { ...step, messages: step.messages.map(f) }))
}
