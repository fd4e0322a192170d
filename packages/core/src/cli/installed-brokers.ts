import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { BrokerDescriptor } from '../broker-descriptor.js'
import { importFromProject } from './import-from-project.js'

/** What the search of the project's packages found. */
export interface InstalledBrokers {
  readonly brokers: readonly { readonly packageName: string; readonly broker: BrokerDescriptor }[]
  /** Adapters installed that could not be loaded (their client library missing, ...), with why. */
  readonly failed: readonly { readonly packageName: string; readonly error: unknown }[]
}

/**
 * The broker descriptors of the adapters installed in the user's project
 * (`cwd`): every `@txbox/*` package whose package.json says
 * `"txbox": { "broker": true }`, imported from the project, with its
 * exported `broker`. The core knows no adapter: a new one is found the same
 * way. Nearer node_modules folders come first, as Node resolves them. The
 * search stops at the first adapter that serves `scheme` (`'redis:'`): each
 * import loads a broker client, which costs a CLI start.
 */
export async function findInstalledBrokers(scheme: string, cwd = process.cwd()): Promise<InstalledBrokers> {
  const require = createRequire(path.join(cwd, 'package.json'))
  const brokers: { packageName: string; broker: BrokerDescriptor }[] = []
  const failed: { packageName: string; error: unknown }[] = []
  const seen = new Set<string>()
  for (const modules of require.resolve.paths('@txbox/core') ?? []) {
    const scope = path.join(modules, '@txbox')
    if (!existsSync(scope)) continue
    for (const name of readdirSync(scope).sort()) {
      const packageName = `@txbox/${name}`
      if (seen.has(packageName) || !declaresBroker(path.join(scope, name, 'package.json'))) continue
      seen.add(packageName)
      try {
        const adapter = await importFromProject(packageName, 'the broker URL', `npm install ${packageName}`, cwd)
        if (isBrokerDescriptor(adapter.broker)) {
          brokers.push({ packageName, broker: adapter.broker })
          if (adapter.broker.schemes.includes(scheme)) return { brokers, failed }
        } else failed.push({ packageName, error: new Error(`${packageName} exports no broker descriptor (is it older than the txbox CLI?)`) })
      } catch (error) {
        failed.push({ packageName, error })
      }
    }
  }
  return { brokers, failed }
}

function declaresBroker(manifestPath: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { txbox?: { broker?: unknown } }
    return manifest.txbox?.broker === true
  } catch {
    return false
  }
}

function isBrokerDescriptor(value: unknown): value is BrokerDescriptor {
  const broker = value as BrokerDescriptor | undefined
  return typeof broker?.name === 'string' && Array.isArray(broker.schemes) && typeof broker.open === 'function'
}
