import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Closes, from the broker's side, the RabbitMQ connections whose
 * `connection_name` client property is `connectionName`, and only those: the
 * broker is shared with other test runs, so closing everything
 * (`close_all_connections`) is never an option. Resolves to how many it closed.
 * Each rabbitmqctl call takes one to two seconds (it boots an Erlang node).
 */
export async function closeRabbitmqConnectionsNamed(connectionName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['--quiet', 'list_connections', 'pid', 'client_properties'], { timeout: 30_000 })
  const needle = `{"connection_name","${connectionName}"}`
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(needle))
    .map((line) => line.split('\t')[0] as string)
  for (const pid of pids) {
    await run('rabbitmqctl', ['--quiet', 'close_connection', pid, 'txbox fault test'], { timeout: 30_000 })
  }
  return pids.length
}
