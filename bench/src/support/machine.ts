import os from 'node:os'
import pg from 'pg'
import type { BenchConfig } from './config.js'

/** One line on the hardware and the servers, printed with every run and written to the results. */
export async function describeMachine(config: BenchConfig): Promise<string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const client = new pg.Client({ connectionString: config.databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT current_setting('server_version') AS v, current_setting('shared_buffers') AS sb, current_setting('synchronous_commit') AS sc,
              current_setting('fsync') AS fs, current_setting('autovacuum') AS av`,
    )
    const r = rows[0]
    return `Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}; PostgreSQL ${r.v} (shared_buffers ${r.sb}, synchronous_commit ${r.sc}, fsync ${r.fs}, autovacuum ${r.av})`
  } finally {
    await client.end()
  }
}
