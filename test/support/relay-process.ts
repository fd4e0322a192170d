import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@txbox/testing'
import { bundleForChild } from './child-bundle.js'

/** What a relay child needs to know. */
export interface RelayChildConfig {
  readonly databaseUrl: string
  readonly schema: string
  readonly redisUrl: string
  readonly stream: string
  readonly batchSize: number
  /** Batches in flight (`--concurrency`); default 2, the CLI's default. */
  readonly concurrency?: number
  /** Set on the relay's PostgreSQL sessions (and its Redis connection, for the script), so a test can find (and only find) them. */
  readonly applicationName: string
  readonly pollInterval?: number
  readonly maxAttempts?: number
  /** CLI only: false passes `--no-listen` (poll only, no LISTEN connection). Default true. */
  readonly listen?: boolean
  /** Script only (the CLI has no flag for it): how long a batch may wait for Redis, in ms. Default 2000. */
  readonly publishTimeout?: number
  /**
   * Script only: relay into BullMQ (@txbox/bullmq, every job to `queue`, keys
   * under `prefix`) instead of the Redis stream `stream`, which is then unused.
   */
  readonly bullmq?: { readonly queue: string; readonly prefix: string }
}

/** What the NATS relay child (nats-relay-child.ts) needs to know. */
export interface NatsRelayChildConfig {
  readonly databaseUrl: string
  readonly schema: string
  readonly natsUrl: string
  /** The subject every message is published to; a stream must capture it. */
  readonly subject: string
  /** Where the child logs the ids JetStream confirmed (core NATS; a stream of the test keeps them). */
  readonly confirmedSubject: string
  readonly batchSize: number
  /** Batches in flight; default 2, the CLI's default. */
  readonly concurrency?: number
  readonly applicationName: string
  readonly pollInterval?: number
  readonly maxAttempts?: number
  /** How long a batch may wait for JetStream, in ms. Default 2000. */
  readonly publishTimeout?: number
  /**
   * After JetStream confirmed a call, the child logs the ids, prints
   * `confirmed <n>` and waits this long before the relay may commit: a
   * window in which the test can kill it after the broker took the batch
   * and before the outbox let go of it. Default 0.
   */
  readonly holdAfterConfirmMs?: number
}

const testDir = fileURLToPath(new URL('..', import.meta.url))
/** The built `txbox` executable (`pnpm build`, which `pnpm test` runs first). */
export const cliPath = fileURLToPath(new URL('../../packages/core/dist/cli/main.js', import.meta.url))

/**
 * A relay running in a child process, which the test can SIGKILL: either the
 * real `txbox relay` CLI, or relay-child.ts (for the scenarios that need a
 * publish timeout and retry delays the CLI has no flags for).
 */
export class RelayProcess {
  /** Messages the child reported published (committed batches). */
  published = 0
  /** Messages a NATS script child reported confirmed by JetStream, its batch not yet committed (`confirmed <n>` lines). */
  confirmed = 0
  private ready = false
  private exitCode: number | null | undefined
  private readonly closed: Promise<void>
  private output = ''
  private readonly child: ChildProcess

  /** Starts `txbox relay` (the built CLI) on the outbox and stream of `config`. */
  static async startCli(config: RelayChildConfig): Promise<RelayProcess> {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`pnpm build\` first (\`pnpm test\` does).`)
    const databaseUrl = new URL(config.databaseUrl)
    // A parameter of the URL wins over the CLI's own application_name.
    databaseUrl.searchParams.set('application_name', config.applicationName)
    const args = [
      cliPath,
      'relay',
      '--database-url',
      databaseUrl.toString(),
      '--schema',
      config.schema,
      '--broker-url',
      config.redisUrl,
      '--stream',
      config.stream,
      '--batch-size',
      String(config.batchSize),
      '--concurrency',
      String(config.concurrency ?? 2),
      '--poll-interval',
      String(config.pollInterval ?? 50),
      '--max-attempts',
      String(config.maxAttempts ?? 1000),
      '--log-format',
      'json',
      ...(config.listen === false ? ['--no-listen'] : []),
    ]
    return new RelayProcess(args, {}, 'stderr', (line, self) => {
      if (!line.startsWith('{')) return
      const entry = JSON.parse(line) as { msg?: string; count?: number }
      if (entry.msg?.startsWith('relaying')) self.ready = true
      else if (typeof entry.count === 'number' && entry.msg?.startsWith('published ')) self.published += entry.count
    })
  }

  /** Starts relay-child.ts (bundled on first use). */
  static async startScript(config: RelayChildConfig): Promise<RelayProcess> {
    const script = await bundleForChild(new URL('./relay-child.ts', import.meta.url))
    return new RelayProcess([script], { TXBOX_FAULT_RELAY: JSON.stringify(config) }, 'stdout', RelayProcess.scriptProgress)
  }

  /** Starts nats-relay-child.ts (bundled on first use): a relay into NATS JetStream. */
  static async startNatsScript(config: NatsRelayChildConfig): Promise<RelayProcess> {
    const script = await bundleForChild(new URL('./nats-relay-child.ts', import.meta.url))
    return new RelayProcess([script], { TXBOX_FAULT_RELAY: JSON.stringify(config) }, 'stdout', RelayProcess.scriptProgress)
  }

  /** The progress lines of a script child: `ready`, `published <n>`, `confirmed <n>`. */
  private static scriptProgress(line: string, self: RelayProcess): void {
    if (line === 'ready') self.ready = true
    else if (line.startsWith('published ')) self.published += Number(line.slice('published '.length))
    else if (line.startsWith('confirmed ')) self.confirmed += Number(line.slice('confirmed '.length))
  }

  private constructor(
    args: string[],
    env: Record<string, string>,
    progressOn: 'stdout' | 'stderr',
    onLine: (line: string, self: RelayProcess) => void,
  ) {
    this.child = spawn(process.execPath, args, { cwd: testDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = ''
      this.child[stream]?.on('data', (chunk) => {
        const text = chunk.toString()
        this.output = (this.output + text).slice(-4000)
        if (stream !== progressOn) return
        buffered += text
        let newline = buffered.indexOf('\n')
        while (newline >= 0) {
          onLine(buffered.slice(0, newline), this)
          buffered = buffered.slice(newline + 1)
          newline = buffered.indexOf('\n')
        }
      })
    }
    this.closed = new Promise((resolve) =>
      this.child.once('close', (code) => {
        this.exitCode = code
        resolve()
      }),
    )
  }

  get alive(): boolean {
    return this.exitCode === undefined
  }

  /** The child's last output, for failure messages. */
  get errors(): string {
    return this.output
  }

  /** Waits until the relay started (or fails with its output if it exited). */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    try {
      await waitFor(
        () => {
          if (!this.alive) throw new Error('exited')
          return this.ready
        },
        { timeoutMs, intervalMs: 20 },
      )
    } catch {
      throw new Error(`relay child not ready after ${timeoutMs} ms (alive=${this.alive}, exit code ${this.exitCode}); output: ${this.output}`)
    }
  }

  /** Waits until the child reported more than `count` messages published; fails with its output. */
  async waitPublishedMoreThan(count: number, timeoutMs = 15_000): Promise<void> {
    try {
      await waitFor(
        () => {
          if (this.published > count) return true
          if (!this.alive) throw new Error('exited')
          return false
        },
        { timeoutMs, intervalMs: 10 },
      )
    } catch {
      throw new Error(`relay child published ${this.published}, waited for more than ${count} for ${timeoutMs} ms; alive=${this.alive}; output: ${this.output}`)
    }
  }

  /** Kills the child at once; resolves when it is gone and its pipes are closed. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.closed
  }

  /** Asks the child to stop gracefully (SIGTERM); resolves with its exit code once it exited. */
  async stop(): Promise<number | null | undefined> {
    if (this.alive) this.child.kill('SIGTERM')
    await this.closed
    return this.exitCode
  }
}
