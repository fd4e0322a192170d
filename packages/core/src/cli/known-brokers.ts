// The adapters the txbox project publishes, for `txbox relay --help` and for
// the hint when no installed adapter serves a URL. Text only: the CLI finds
// the adapters it uses among the packages installed in the project
// (installed-brokers.ts), so an adapter that is not listed here works the same.

/** One adapter the txbox project publishes, as the help lists it. */
export interface KnownBroker {
  readonly schemes: readonly string[]
  readonly install: string
  readonly flags: string
}

export const KNOWN_BROKERS: readonly KnownBroker[] = [
  { schemes: ['redis:', 'rediss:'], install: 'npm install @txbox/redis ioredis@5', flags: '--stream <name>, --max-len <n>' },
  { schemes: ['amqp:', 'amqps:'], install: 'npm install @txbox/rabbitmq amqplib', flags: '--exchange <name> (required)' },
  { schemes: ['bullmq+redis:', 'bullmq+rediss:'], install: 'npm install @txbox/bullmq bullmq ioredis', flags: '--queue <name>, --prefix <prefix>' },
  { schemes: ['nats:'], install: 'npm install @txbox/nats @nats-io/transport-node @nats-io/jetstream', flags: '--subject <subject>' },
]

/** The known schemes as URL beginnings: `redis://, rediss://, … or nats://`. */
export function knownSchemes(): string {
  const all = KNOWN_BROKERS.flatMap((b) => b.schemes.map((s) => `${s}//`))
  return `${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}`
}

/** The lines of `txbox relay --help` that list the brokers. */
export function brokersHelp(): string {
  const width = Math.max(...KNOWN_BROKERS.map((b) => b.schemes.map((s) => `${s}//`).join(' ').length))
  return KNOWN_BROKERS.map((b) => `  ${b.schemes.map((s) => `${s}//`).join(' ').padEnd(width)}  ${b.install}\n  ${''.padEnd(width)}  flags: ${b.flags}`).join('\n')
}
