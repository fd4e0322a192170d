import type { AmqpConnection } from './amqp-types.js'

/**
 * Opens a connection with amqplib, loaded on first use so that a user who
 * passes their own `connection` never needs it resolved from here.
 * `connectionName` shows in the management UI and `rabbitmqctl list_connections`.
 */
export async function connectAmqp(url: string, connectionName: string): Promise<AmqpConnection> {
  const amqplib = await import('amqplib')
  // amqplib is CommonJS: depending on the loader its functions are on the
  // namespace or on its default export.
  const connect = (amqplib.connect ?? (amqplib as unknown as { default: typeof amqplib }).default.connect) as (
    url: string,
    socketOptions: { clientProperties: { connection_name: string } },
  ) => Promise<unknown>
  return (await connect(url, { clientProperties: { connection_name: connectionName } })) as AmqpConnection
}
