import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@txbox/testing'
import { bundleForChild } from './child-bundle.js'

/** What relay-child.ts reads from TXBOX_FAULT_RELAY. */
export interface RelayChildConfig {
  readonly databaseUrl: string
  readonly schema: string
  readonly redisUrl: string
  readonly stream: string
  readonly batchSize: number
  /** Set on the relay's PostgreSQL sessions and its Redis connection, so a test can find (and only find) them. */
  readonly applicationName: string
  readonly pollInterval?: number
  readonly publishTimeout?: number
  readonly maxAttempts?: number
}

const testDir = fileURLToPath(new URL('..', import.meta.url))

/** A relay running in a child process, which the test can SIGKILL. */
export class RelayProcess {
  /** Messages the child reported published (committed batches). */
  published = 0
  private ready = false
  private exitCode: number | null | undefined
  private closed: Promise<void>
  private stderr = ''
  private readonly child: ChildProcess

  /** Starts relay-child.ts in a new process (it is bundled on first use). */
  static async start(config: RelayChildConfig): Promise<RelayProcess> {
    return new RelayProcess(await bundleForChild(new URL('./relay-child.ts', import.meta.url)), config)
  }

  private constructor(script: string, config: RelayChildConfig) {
    this.child = spawn(process.execPath, [script], {
      cwd: testDir,
      env: { ...process.env, TXBOX_FAULT_RELAY: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffered = ''
    this.child.stdout?.on('data', (chunk) => {
      buffered += chunk.toString()
      let newline = buffered.indexOf('\n')
      while (newline >= 0) {
        this.onLine(buffered.slice(0, newline))
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf('\n')
      }
    })
    this.child.stderr?.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000)
    })
    this.closed = new Promise((resolve) =>
      this.child.once('close', (code) => {
        this.exitCode = code
        resolve()
      }),
    )
  }

  private onLine(line: string): void {
    if (line === 'ready') this.ready = true
    else if (line.startsWith('published ')) this.published += Number(line.slice('published '.length))
  }

  get alive(): boolean {
    return this.exitCode === undefined
  }

  /** The child's last stderr output, for failure messages. */
  get errors(): string {
    return this.stderr
  }

  /** Waits until the relay started (or fails with its stderr if it exited). */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => {
        if (!this.alive) throw new Error(`relay child exited (${this.exitCode}) before it was ready: ${this.stderr}`)
        return this.ready
      },
      { timeoutMs, intervalMs: 20, message: `relay child ready (stderr: ${this.stderr})` },
    )
  }

  /** Waits until the child reported more than `count` messages published; fails with its stderr. */
  async waitPublishedMoreThan(count: number, timeoutMs = 15_000): Promise<void> {
    try {
      await waitFor(() => this.published > count, { timeoutMs, intervalMs: 10 })
    } catch {
      throw new Error(`relay child published ${this.published}, waited for more than ${count} for ${timeoutMs} ms; alive=${this.alive}; stderr: ${this.stderr}`)
    }
  }

  /** Kills the child at once; resolves when it is gone and its pipes are closed. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.closed
  }

  /** Asks the child to stop gracefully (SIGTERM); resolves when it exited. */
  async stop(): Promise<number | null | undefined> {
    if (this.alive) this.child.kill('SIGTERM')
    await this.closed
    return this.exitCode
  }
}
