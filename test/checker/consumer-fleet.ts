import { processOnce, withTransaction } from '@txbox/core'
import { type Kysely, sql } from 'kysely'
import type { CallOutcome, ConsumerHistory, HandlerCall } from './consumer-history.js'
import type { ConsumerPlace, ReceivedMessage, RunningConsumer } from './consumer-place.js'
import type { ConsumedMessageSpec, ConsumerAction, ConsumerRunConfig } from './consumer-scenario-model.js'

export interface ConsumerFleetContext {
  readonly config: ConsumerRunConfig
  readonly place: ConsumerPlace
  readonly history: ConsumerHistory
  /** The consumers' database (processOnce and the effects table). */
  readonly db: Kysely<any>
  readonly schema: string
  /** The spec of each published message, by n: what its handler does on each run. */
  readonly specs: ReadonlyMap<number, ConsumedMessageSpec>
}

/** One consumer in one of its lives. */
interface ConsumerLife {
  readonly slot: number
  readonly id: number
  readonly name: string
  running: RunningConsumer
  /** Set when its process "died": its handlers in flight do not finish their work. */
  killed: boolean
}

/** The inbox's consumer name: every consumer of the group is one service. */
const INBOX_CONSUMER = 'checker'

class PlannedFailure extends Error {}
class Killed extends Error {}

/**
 * The run's consumers, in process, each with its own connection behind its
 * own proxy, all calling one handler that follows each message's spec and
 * records every run into the history.
 */
export class ConsumerFleet {
  private slots: ConsumerLife[] = []
  private readonly retiring: Promise<void>[] = []
  private lives = 0

  constructor(private readonly ctx: ConsumerFleetContext) {}

  async start(): Promise<void> {
    for (let slot = 0; slot < this.ctx.config.consumers; slot++) this.slots.push(await this.startLife(slot, `c${slot}`))
  }

  async crash(action: Extract<ConsumerAction, { t: 'crash' }>): Promise<void> {
    const index = action.consumer % this.slots.length
    const life = this.slots[index] as ConsumerLife
    const at = Date.now()
    if (action.how === 'drop') {
      life.running.drop()
    } else {
      if (action.how === 'kill') {
        life.killed = true
        life.running.cutForGood()
        // A dead process stops nothing: its stop() only frees this process's resources, unjudged.
        this.retiring.push(this.retire(life, false))
      } else {
        await this.retire(life, true)
      }
      this.slots[index] = await this.startLife(index, action.rename ? `c${index}.${this.lives + 1}` : life.name)
    }
    this.ctx.history.crashes.push({ slot: index, life: life.id, how: action.how, renamed: action.how !== 'drop' && action.rename, at, endedAt: Date.now() })
  }

  /** Stops every consumer gracefully (judged: stop() must return within its bound). */
  async stopAll(): Promise<void> {
    const lives = this.slots
    this.slots = []
    await Promise.all([...lives.map((life) => this.retire(life, true)), ...this.retiring.splice(0)])
  }

  /** How long stop() may take: the handler in flight (bounded by the handler timeout on Redis), the read, closing. */
  private stopBoundMs(): number {
    return this.ctx.config.broker === 'redis' ? this.ctx.config.handlerTimeoutMs + 5000 : 10_000
  }

  private async retire(life: ConsumerLife, judge: boolean): Promise<void> {
    const bound = this.stopBoundMs()
    let timer: NodeJS.Timeout | undefined
    const started = Date.now()
    const stopped = await Promise.race([
      life.running.stop().then(
        () => true,
        (error) => {
          this.ctx.history.note(`stop() of ${life.name} (life ${life.id}) rejected: ${(error as Error)?.message}`)
          return true
        },
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), judge ? bound : bound + 10_000))),
    ])
    clearTimeout(timer)
    if (!stopped) {
      const line = `stop() of consumer ${life.slot}.${life.id} (${life.name}${life.killed ? ', killed' : ''}) did not return within ${Date.now() - started} ms`
      if (judge) this.ctx.history.stalls.push(line)
      else this.ctx.history.harnessErrors.push(line)
    }
    await life.running.close().catch(() => {})
  }

  private async startLife(slot: number, name: string): Promise<ConsumerLife> {
    const { config, history } = this.ctx
    const id = ++this.lives
    // Handlers may run before startConsumer returns: the life exists first, its consumer is set after.
    const life: ConsumerLife = { slot, id, name, running: undefined as unknown as RunningConsumer, killed: false }
    life.running = await this.ctx.place.startConsumer({
      name,
      handler: (message, signal) => this.handle(life, message, signal),
      wrap: config.processOnce ? (message, run) => this.once(message, run) : undefined,
      log: (line) => history.note(`${Date.now() % 100_000} ${line}`),
    })
    return life
  }

  /** The checker's handler: does what the message's spec says for this run, and records it. */
  private async handle(life: ConsumerLife, message: ReceivedMessage, signal: AbortSignal | undefined): Promise<void> {
    const { config, history } = this.ctx
    const n = nOf(message.payload)
    const spec = n === null ? undefined : this.ctx.specs.get(n)
    if (n === null || spec === undefined) {
      history.harnessErrors.push(`a consumer got a message the run did not publish: ${JSON.stringify(message.payload).slice(0, 100)}`)
      return
    }
    const attempt = history.takeAttempt(n)
    const call: HandlerCall = { n, slot: life.slot, life: life.id, consumer: life.name, deliveries: message.deliveries, attempt, startedAt: Date.now() }
    history.calls.push(call)
    try {
      const failing = attempt <= spec.fails
      if (spec.slowMs > 0) await sleep(spec.slowMs, signal)
      if (failing && spec.failBy === 'hang' && signal) await aborted(signal)
      if (config.processOnce && (!failing || spec.failBy === 'effect-then-throw')) {
        // Joins processOnce's transaction (withTransaction finds it): commits or rolls back with the inbox record.
        await withTransaction(this.ctx.db, (trx) => sql`insert into ${sql.id(this.ctx.schema)}.effects (n, consumer) values (${n}, ${life.name})`.execute(trx))
      }
      if (life.killed) throw new Killed('the consumer was killed while this ran')
      if (failing) throw new PlannedFailure(`planned failure, run ${attempt} of ${spec.fails}`)
      call.outcome = 'ok'
    } catch (error) {
      call.outcome = outcomeOf(error, life.killed, signal)
      if (call.outcome === 'error') call.error = String((error as Error)?.message ?? error).slice(0, 200)
      throw error
    } finally {
      call.endedAt = Date.now()
    }
  }

  /** processOnce around the handler, as the docs' `wrap` does; records a committed run. */
  private async once(message: ReceivedMessage, run: () => Promise<void>): Promise<void> {
    const result = await processOnce(this.ctx.db, message.messageId, run, { schema: this.ctx.schema, consumer: INBOX_CONSUMER })
    const n = nOf(message.payload)
    if (result.status === 'processed' && n !== null) this.ctx.history.processed.push({ n, at: Date.now() })
  }
}

function outcomeOf(error: unknown, killed: boolean, signal: AbortSignal | undefined): CallOutcome {
  if (killed) return 'killed'
  if (error instanceof PlannedFailure) return 'failed'
  if (signal?.aborted) return 'aborted'
  return 'error'
}

export function nOf(payload: unknown): number | null {
  const n = (payload as { n?: unknown } | null)?.n
  return typeof n === 'number' ? n : null
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort() {
      clearTimeout(timer)
      reject(signal?.reason ?? new Error('aborted'))
    }
    if (signal?.aborted) abort()
    else signal?.addEventListener('abort', abort, { once: true })
  })
}

/** Waits until `signal` aborts, then throws its reason: a handler that hangs, but honours the signal. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}
