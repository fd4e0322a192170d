// Runs the benchmarks in turn, prints a table per benchmark, writes
// bench/results/latest.md and latest.json, and ends with ONE JSON line.
//   pnpm bench            full run (minutes)
//   pnpm bench --quick    small sizes, under three minutes
//   pnpm bench --quick --only=enqueue,notify
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { backlogScaling } from './backlog-scaling.js'
import { enqueueOverhead } from './enqueue-overhead.js'
import { latency } from './latency.js'
import { metricsOverhead } from './metrics-overhead.js'
import { notifyCost } from './notify-cost.js'
import { rabbitmqRelay } from './rabbitmq-relay.js'
import { relayThroughput } from './relay-throughput.js'
import type { Benchmark, BenchmarkResult } from './support/benchmark.js'
import { readConfig } from './support/config.js'
import { describeMachine } from './support/machine.js'
import { renderTable } from './support/table.js'

const BENCHMARKS: readonly Benchmark[] = [enqueueOverhead, notifyCost, backlogScaling, relayThroughput, latency, rabbitmqRelay, metricsOverhead]

const REQUIRED_FIGURES = [
  'relay_vs_bare_redis',
  'relay_msgs_per_s',
  'enqueue_overhead',
  'latency_p50_ms',
  'latency_p99_ms',
  'relay_vs_graphile',
  'relay_vs_pgboss',
  'notify_commit_cost',
  'claim_ms_at_1m_backlog',
]

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2))
  const selected = BENCHMARKS.filter((b) => config.only.length === 0 || config.only.includes(b.name))
  const machine = await describeMachine(config)
  const startedAt = new Date()
  const header = `txbox benchmarks — ${config.quick ? 'quick' : 'full'} run, ${startedAt.toISOString()}\n${machine}`
  console.log(header)

  const figures: Record<string, number | string | null> = {}
  const sections: string[] = []
  let failed = false
  for (const benchmark of selected) {
    const t0 = performance.now()
    console.log(`\n### ${benchmark.title}`)
    let result: BenchmarkResult
    try {
      result = await benchmark.run(config, (line) => console.log(line))
    } catch (error) {
      failed = true
      console.error(`[bench] ${benchmark.name} failed:`, error)
      result = { tables: [], notes: [`FAILED: ${(error as Error).message}`], figures: {} }
    }
    const seconds = ((performance.now() - t0) / 1000).toFixed(1)
    const text = [
      `### ${benchmark.title}`,
      '',
      ...result.tables.flatMap((t) => [renderTable(t), '']),
      ...result.notes.map((n) => `- ${n}`),
      ...(result.details ?? []).flatMap((d) => ['', '```text', d, '```']),
      `- (${benchmark.name}: ${seconds} s)`,
    ].join('\n')
    console.log(text.split('\n').slice(1).join('\n'))
    sections.push(text)
    Object.assign(figures, result.figures)
  }

  for (const name of REQUIRED_FIGURES) if (!(name in figures)) figures[name] = null
  const summary = { run: config.quick ? 'quick' : 'full', date: startedAt.toISOString(), ...figures }
  const resultsDir = fileURLToPath(new URL('../results/', import.meta.url))
  await mkdir(resultsDir, { recursive: true })
  const markdown = [`## Results: ${header.replace('\n', '\n\n')}`, '', ...sections.flatMap((s) => [s, '']), '```json', JSON.stringify(summary), '```', ''].join('\n')
  await writeFile(`${resultsDir}latest${config.quick ? '-quick' : ''}.md`, markdown)
  await writeFile(`${resultsDir}latest${config.quick ? '-quick' : ''}.json`, `${JSON.stringify(summary, null, 2)}\n`)
  console.log(`\n(written to bench/results/latest${config.quick ? '-quick' : ''}.md; total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s; ${os.cpus().length} cores)`)
  console.log(JSON.stringify(summary))
  if (failed) process.exitCode = 1
}

await main()
