/**
 * `pnpm test:soak --minutes N [--seed S] [--broker redis|rabbitmq] [--half relay|consumer|both] [--shrink-minutes M] [--exclude a,b]`:
 * runs checker scenarios of random seeds (from S on, when given) until the
 * time is up, printing each seed and the size of its history, and every
 * failing seed with its shrunk reproduction. Exits 1 if any seed failed.
 * `--half` picks the relay half, the consumer half (consumers crashing and
 * racing, handlers failing, processOnce), or both (the default: each seed
 * runs one, alternately). `--exclude` applies to the relay half.
 *
 * `--replay '<json>' [--repeat K]` (or TXBOX_CHECKER_REPLAY) runs a printed
 * reproduction again, K times (and shrinks it further with --shrink-minutes;
 * --shrink-attempts tries each candidate more often, for rare failures). `--exclude` leaves parts out of every scenario
 * (see scenario-features.ts): to look past a known defect for the next one.
 *
 * Bundled and started by soak.mjs (plain node, no test runner).
 */
import { readFileSync } from 'node:fs'
import type { ConsumerScenario } from './consumer-scenario-model.js'
import { generateConsumerScenario } from './generate-consumer-scenario.js'
import { generateScenario } from './generate-scenario.js'
import { runAndShrinkConsumer } from './run-and-shrink-consumer.js'
import { runAndShrink } from './run-and-shrink.js'
import { excludeFeatures, type Feature, parseFeatures } from './scenario-features.js'
import type { BrokerKind, Scenario } from './scenario-model.js'
import type { ViolationKind } from './violations.js'

interface SoakArgs {
  readonly minutes: number
  readonly seed: number | undefined
  readonly broker: BrokerKind | undefined
  readonly shrinkMinutes: number
  /** Replay only: shrink the replayed scenario if it fails (when --shrink-minutes is given). */
  readonly shrinkReplay: boolean
  readonly shrinkAttempts: number
  readonly half: 'relay' | 'consumer' | 'both'
  readonly replay: Scenario | ConsumerScenario | undefined
  readonly repeat: number
  readonly keep: boolean
  readonly exclude: Feature[]
}

function parseArgs(argv: readonly string[]): SoakArgs {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') continue
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (name === 'keep') flags.set(name, 'true')
    else flags.set(name, inline ?? (argv[++i] as string))
  }
  const known = ['minutes', 'seed', 'broker', 'half', 'shrink-minutes', 'shrink-attempts', 'replay', 'repeat', 'keep', 'exclude']
  for (const name of flags.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(' ')})`)
  const number = (name: string, fallback: number) => {
    const value = flags.get(name)
    if (value === undefined) return fallback
    const parsed = Number(value)
    if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number, got ${value}`)
    return parsed
  }
  const broker = flags.get('broker')
  if (broker !== undefined && broker !== 'redis' && broker !== 'rabbitmq') throw new Error(`--broker must be redis or rabbitmq, got ${broker}`)
  const half = flags.get('half') ?? 'both'
  if (half !== 'relay' && half !== 'consumer' && half !== 'both') throw new Error(`--half must be relay, consumer or both, got ${half}`)
  const replayText = flags.get('replay') ?? process.env.TXBOX_CHECKER_REPLAY
  const replay = replayText === undefined ? undefined : (JSON.parse(replayText.trim().startsWith('{') ? replayText : readFileSync(replayText, 'utf8')) as Scenario | ConsumerScenario)
  return {
    minutes: number('minutes', 5),
    seed: flags.has('seed') ? number('seed', 0) : undefined,
    broker,
    half,
    shrinkMinutes: number('shrink-minutes', 5),
    shrinkReplay: flags.has('shrink-minutes'),
    shrinkAttempts: Math.max(1, number('shrink-attempts', 2)),
    replay,
    repeat: number('repeat', 1),
    keep: flags.has('keep') || process.env.TXBOX_CHECKER_KEEP === '1',
    exclude: parseFeatures(flags.get('exclude') ?? ''),
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const log = (line: string) => process.stdout.write(`${line}\n`)
  const shrunkKinds = new Set<ViolationKind>()
  const common = {
    keepOnFailure: args.keep,
    shrinkMs: args.shrinkMinutes * 60_000,
    shrinkAttempts: args.shrinkAttempts,
    log,
    // One shrunk reproduction per kind of failure: the rest print their seed.
    shouldShrink: (kind: ViolationKind) => {
      if (shrunkKinds.has(kind)) return false
      shrunkKinds.add(kind)
      return true
    },
  }
  if (args.replay) {
    let failed = 0
    const shrinkMs = args.shrinkReplay ? common.shrinkMs : 0
    const replay = args.replay
    for (let i = 0; i < args.repeat; i++) {
      const checked = 'half' in replay ? await runAndShrinkConsumer(replay, { ...common, shrinkMs }) : await runAndShrink(replay, { ...common, shrinkMs })
      if (checked.failedWith) failed += 1
    }
    log(`[checker] replay: ${failed} of ${args.repeat} run(s) failed`)
    return failed > 0 ? 1 : 0
  }

  const deadline = Date.now() + args.minutes * 60_000
  let seed = args.seed ?? Math.floor(Math.random() * 2 ** 31)
  const failures: string[] = []
  let runs = 0
  let committed = 0
  let deliveries = 0
  let consumerRuns = 0
  let published = 0
  let handlerRuns = 0
  log(
    `[checker] soak: ${args.minutes} min from seed ${seed}${args.broker ? ` on ${args.broker}` : ''}, ${args.half === 'both' ? 'both halves' : `${args.half} half`}${args.exclude.length ? ` without ${args.exclude.join(', ')}` : ''}`,
  )
  while (Date.now() < deadline) {
    const consumerHalf = args.half === 'consumer' || (args.half === 'both' && seed % 2 === 1)
    if (consumerHalf) {
      const checked = await runAndShrinkConsumer(generateConsumerScenario(seed, { broker: args.broker }), common)
      consumerRuns += 1
      published += checked.outcome.report.stats.published
      handlerRuns += checked.outcome.report.stats.calls
      if (checked.failedWith) failures.push(`consumer seed ${seed}: ${checked.failedWith}`)
    } else {
      const checked = await runAndShrink(excludeFeatures(generateScenario(seed, { broker: args.broker }), args.exclude), common)
      runs += 1
      committed += checked.outcome.report.stats.committed
      deliveries += checked.outcome.report.stats.deliveries
      if (checked.failedWith) failures.push(`seed ${seed}: ${checked.failedWith}`)
    }
    seed += 1
  }
  log(
    `[checker] soak done: relay half ${runs} seed(s), ${committed} committed message(s), ${deliveries} deliveries checked; ` +
      `consumer half ${consumerRuns} seed(s), ${published} published message(s), ${handlerRuns} handler runs checked; ${failures.length} failing seed(s)`,
  )
  for (const failure of failures) log(`  ${failure}`)
  return failures.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`[checker] ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(2)
  },
)
