import type { Benchmark, BenchmarkResult } from '../support/benchmark.js'
import type { BenchConfig } from '../support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName } from '../support/db.js'
import { interleavedRounds } from '../support/rounds.js'
import { formatNumber, formatSummary, pairedRatio, type Summary, summarize } from '../support/stats.js'
import type { Destination } from './destination.js'
import type { CompetitorFactory, DrainCompetitor, DrainContext } from './drain-competitor.js'

/** Each competitor's msg/s per round, with the ratios the figures are made of. */
export interface DrainRates {
  /** The competitors, in the order given. */
  readonly names: readonly string[]
  /** Median msg/s of a competitor. */
  median(name: string): number
  /** Median of the per-round ratios a ÷ b (same rounds, so a slow spell moves both). */
  ratio(a: string, b: string): Summary
}

export interface DrainBenchmarkSpec {
  /** `--only=` name. */
  readonly name: string
  readonly title: string
  /** Messages per drain, quick and full run. */
  readonly count: { readonly quick: number; readonly full: number }
  /** Opens the broker every competitor sends to. */
  readonly destination: (config: BenchConfig) => Promise<Destination>
  /** The first is the subject (txbox), the ratio columns compare with it and with `baseline`. */
  readonly competitors: readonly CompetitorFactory[]
  /** The competitor every other is divided by (the bare loop). */
  readonly baseline: string
  /** Notes beyond each competitor's own (how the figures are derived). */
  readonly notes?: readonly string[]
  /** The figures for the JSON line, from the rates (rounded: `round` from support/stats). */
  figures(rates: DrainRates): Record<string, number | null>
}

/**
 * A benchmark that drains the same backlog into one destination with each
 * competitor, in interleaved rounds. Each run: load N messages (untimed,
 * table VACUUM (ANALYZE)d), start the drainer, stop the clock when the last
 * message is confirmed by the broker, check the broker holds exactly N.
 * Prints msg/s, each ÷ the baseline, and the subject ÷ each.
 */
export function drainBenchmark(spec: DrainBenchmarkSpec): Benchmark {
  return {
    name: spec.name,
    title: spec.title,
    async run(config: BenchConfig, log): Promise<BenchmarkResult> {
      const count = config.quick ? spec.count.quick : spec.count.full
      const rounds = config.quick ? 3 : 5
      const schemas = new Set<string>()
      const pool = createPool(config, 6)
      const db = kyselyOn(pool)
      let destination: Destination | undefined
      const competitors: DrainCompetitor[] = []
      try {
        destination = await spec.destination(config)
        const context: DrainContext = {
          config,
          pool,
          db,
          destination,
          schema(what) {
            const name = schemaName(config, `${spec.name}_${what}`)
            schemas.add(name)
            return name
          },
        }
        for (const factory of spec.competitors) {
          const competitor = factory(context)
          competitors.push(competitor)
          await competitor.setUp?.()
        }
        const byName = new Map(competitors.map((c) => [c.name, c]))
        const subject = competitors[0]?.name as string
        if (!byName.has(spec.baseline)) throw new Error(`${spec.name}: no competitor named "${spec.baseline}"`)

        log(`  ${formatNumber(count)} messages, 100 keys, ${rounds} rounds × ${competitors.length} competitors, into ${destination.name}`)
        let seq = 0
        const dest = destination
        const rates = await interleavedRounds(rounds, [...byName.keys()], async (name, index) => {
          const competitor = byName.get(name) as DrainCompetitor
          const round = { index, topic: dest.topic(`${index}-${name.replace(/\W+/g, '-')}`), from: seq, count }
          seq += count
          await competitor.load(round)
          const t0 = performance.now()
          await competitor.drain(round)
          const rate = count / ((performance.now() - t0) / 1000)
          const held = await dest.count(round.topic)
          await dest.clear(round.topic)
          if (held !== count) throw new Error(`${name}: ${dest.name} holds ${held} messages, expected ${count}`)
          log(`    round ${index + 1} ${name}: ${formatNumber(rate)} msg/s`)
          return rate
        })

        const result: DrainRates = {
          names: competitors.map((c) => c.name),
          median: (name) => summarize(rates[name] as number[]).median,
          ratio: (a, b) => pairedRatio(rates[a] as number[], rates[b] as number[]),
        }
        const figures = spec.figures(result)
        return {
          tables: [
            {
              title: `Messages/s draining ${formatNumber(count)} messages into ${destination.name} (median of ${rounds} rounds, range)`,
              headers: ['drainer', 'msg/s', `÷ ${spec.baseline}`, `${subject} ÷ this`],
              rows: competitors.map(({ name }) => [
                name,
                formatSummary(summarize(rates[name] as number[])),
                formatSummary(result.ratio(name, spec.baseline), 2),
                formatSummary(result.ratio(subject, name), 2),
              ]),
            },
          ],
          notes: [
            ...competitors.map((c) => c.notes),
            ...competitors.flatMap((c) => c.profile?.() ?? []),
            destination.notes,
            'Each drain starts on a freshly loaded and explicitly VACUUM (ANALYZE)d table (autovacuum is off here). The clock runs from starting the drainer to the last confirmed message; the broker is checked to hold exactly N messages after each drain.',
            ...(spec.notes ?? []),
          ],
          figures,
        }
      } finally {
        for (const competitor of competitors) await competitor.tearDown?.().catch((error) => console.error(`[bench] ${competitor.name}: tear-down failed:`, error))
        await destination?.close().catch((error) => console.error('[bench] closing the destination failed:', error))
        for (const schema of schemas) await dropSchema(pool, schema).catch(() => {})
        await db.destroy()
      }
    },
  }
}
