// Test helpers on the shared RabbitMQ: an admin connection of the test file's
// own, queues bound to its exchange, and closing one named connection.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { serviceUrls } from '@txbox/testing'
import amqplib from 'amqplib'

const run = promisify(execFile)

export type Admin = Awaited<ReturnType<typeof amqplib.connect>>
export type AdminChannel = Awaited<ReturnType<Admin['createChannel']>>

export async function openAdmin(name: string): Promise<{ connection: Admin; channel: AdminChannel }> {
  const connection = await amqplib.connect(serviceUrls().amqpUrl, { clientProperties: { connection_name: name } })
  const channel = await connection.createChannel()
  return { connection, channel }
}

/** The Erlang pids of the open connections whose `connection_name` is `name`. */
export async function connectionPids(name: string): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'])
  return stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name",longstr,<<"${name}">>}`) || line.includes(`"${name}"`))
    .map((line) => line.split('\t')[0] as string)
}

/**
 * Has the broker close our own connection(s) named `name` (never anyone
 * else's: the broker is shared). Returns their pids.
 */
export async function closeConnectionsNamed(name: string): Promise<string[]> {
  const pids = await connectionPids(name)
  if (pids.length === 0) throw new Error(`no connection named ${name} is open`)
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'txbox test: broker closes the connection'])
  return pids
}

