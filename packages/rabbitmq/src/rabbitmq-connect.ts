import type { AmqpConnection } from './rabbitmq-client.js'
import { type AnswerBudget, cutConnection } from './silent-connection.js'

/**
 * Opens a connection with amqplib, loaded on first use so that a user who
 * passes their own `connection` never needs it resolved from here.
 * `connectionName` shows in the management UI and `rabbitmqctl list_connections`.
 */
export async function connectAmqp(url: string, connectionName: string, socketOptions: { readonly timeout?: number } = {}): Promise<AmqpConnection> {
  const amqplib = await import('amqplib')
  // amqplib is CommonJS: depending on the loader its functions are on the
  // namespace or on its default export.
  const connect = (amqplib.connect ?? (amqplib as unknown as { default: typeof amqplib }).default.connect) as (
    url: string,
    socketOptions: { clientProperties: { connection_name: string }; timeout?: number },
  ) => Promise<unknown>
  return (await connect(url, { ...socketOptions, clientProperties: { connection_name: connectionName } })) as AmqpConnection
}

/**
 * The connection a publisher or consumer uses: the user's (`connection`
 * option), or one of its own opened from `url` on first use, and again after
 * it closed. Only its own is ever closed here.
 */
export class AmqpConnectionSlot {
  private own: AmqpConnection | undefined

  constructor(
    private readonly given: AmqpConnection | undefined,
    private readonly url: string | undefined,
    private readonly connectionName: string,
    /** How long opening a connection may take (TCP and handshake): one that goes unanswered is given up. */
    private readonly connectTimeoutMs?: number,
  ) {}

  async get(): Promise<AmqpConnection> {
    if (this.given) return this.given
    if (this.own) return this.own
    const connection = await connectAmqp(this.url as string, this.connectionName, { timeout: this.connectTimeoutMs })
    connection.on('error', () => {
      // Surfaces as the channels' close; without a listener amqplib's error would crash the process.
    })
    connection.on('close', () => {
      if (this.own === connection) this.own = undefined
    })
    this.own = connection
    return connection
  }

  /**
   * Closes the connection opened here, if any; never the user's. With
   * `answers`, RabbitMQ gets what is left of them to answer, after which the
   * connection is cut (it went silent).
   */
  async close(answers?: AnswerBudget): Promise<void> {
    const connection = this.own
    this.own = undefined
    if (!connection) return
    if (!answers) await connection.close().catch(() => {})
    else if (!(await answers.wait(connection.close()))) cutConnection(connection, new Error('txbox: RabbitMQ did not answer; connection cut'))
  }
}
