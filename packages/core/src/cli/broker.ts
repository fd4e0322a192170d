import type { BrokerConnection, BrokerFlags } from '../broker-descriptor.js'
import type { Logger } from '../logger.js'
import { CliError } from './cli-error.js'
import { describeError } from './describe-error.js'
import { findInstalledBrokers, type InstalledBrokers } from './installed-brokers.js'
import { KNOWN_BROKERS, knownSchemes } from './known-brokers.js'
import { redactUrl } from './redact.js'

export type { BrokerConnection } from '../broker-descriptor.js'

/**
 * Opens a publisher for `url` through the adapter installed in the user's
 * project whose broker descriptor serves the URL's scheme (see
 * installed-brokers.ts): the core knows no broker. The descriptor connects
 * and checks the login, so an unreachable broker, or one that refuses the
 * login, is a CliError at start naming what to check, not a relay that starts
 * and then fails every publish. A flag the broker does not take is a usage
 * error.
 */
export async function openBroker(url: string, flags: BrokerFlags, logger: Logger): Promise<BrokerConnection> {
  const description = redactUrl(url)
  let scheme: string
  try {
    scheme = new URL(url).protocol
  } catch {
    throw new CliError(`the broker URL ${description} is not a URL; expected one starting with ${knownSchemes()}.`, 'usage')
  }
  const installed = await findInstalledBrokers(scheme)
  const found = installed.brokers.find((b) => b.broker.schemes.includes(scheme))
  if (found === undefined) throw notServed(scheme, description, installed)
  try {
    return await found.broker.open(url, { flags, logger })
  } catch (error) {
    // A flag the broker does not take, or a bad value, is a usage error. The
    // adapter's copy of @txbox/core is not the CLI's: tell errors by code, not class.
    const usage = (error as { code?: unknown } | undefined)?.code === 'INVALID_OPTION'
    throw new CliError(describeError(error), usage ? 'usage' : 'failure', { cause: error })
  }
}

/** No installed adapter serves `scheme`: say which to install, or why the one installed did not load. */
function notServed(scheme: string, description: string, installed: InstalledBrokers): CliError {
  const known = KNOWN_BROKERS.find((b) => b.schemes.includes(scheme))
  const brokenOnes = installed.failed.map((f) => `${f.packageName} (${describeError(f.error)})`)
  const broken = brokenOnes.length > 0 ? ` Installed but not loaded: ${brokenOnes.join('; ')}.` : ''
  if (known) {
    const packageName = known.install.split(' ')[2] as string
    const failed = installed.failed.find((f) => f.packageName === packageName)
    if (failed) return new CliError(`${packageName} is installed but could not be loaded (${describeError(failed.error)}); install what it needs: ${known.install}`)
    const article = /^[aeiou]/.test(scheme) ? 'an' : 'a'
    return new CliError(`${article} ${scheme}// broker URL needs ${packageName}, which is not installed in ${process.cwd()}. Install it there: ${known.install}${broken}`)
  }
  return new CliError(`unsupported broker URL ${description}: use ${knownSchemes()}, or install the adapter that serves ${scheme}//.${broken}`, 'usage')
}
