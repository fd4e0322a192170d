/** The injection token of the resolved {@link TxboxModuleOptions}. Internal to the module. */
export const TXBOX_OPTIONS = Symbol.for('txbox:nestjs:options')

/**
 * The injection token of the application's relay (`Relay` from
 * `@txbox/core`), or `null` when the module options have no `relay`. Inject
 * it to read `relay.metrics()` or listen to its events:
 * `constructor(@Inject(TXBOX_RELAY) private readonly relay: Relay) {}`.
 * The module starts and stops it: do not call `start()` or `stop()` yourself.
 */
export const TXBOX_RELAY = Symbol.for('txbox:nestjs:relay')
