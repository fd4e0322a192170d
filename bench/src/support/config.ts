import { randomBytes } from 'node:crypto'

/** Where the services are, and how big a run is. Resolved once from argv and the environment. */
export interface BenchConfig {
  readonly quick: boolean
  /** Benchmarks to run (all when empty), from `--only=a,b`. */
  readonly only: readonly string[]
  readonly databaseUrl: string
  readonly redisUrl: string
  readonly amqpUrl: string
  readonly natsUrl: string
  /** Unique per run: schemas are `bench_<runId>_*`, Redis keys `bench:<runId>:*`. */
  readonly runId: string
}

export function readConfig(argv: readonly string[]): BenchConfig {
  const onlyArg = argv.find((a) => a.startsWith('--only='))
  return {
    quick: argv.includes('--quick'),
    only: onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : [],
    databaseUrl: process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    amqpUrl: process.env.BENCH_AMQP_URL ?? process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    natsUrl: process.env.BENCH_NATS_URL ?? process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
    runId: randomBytes(3).toString('hex'),
  }
}
