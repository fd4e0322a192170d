import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import type { Relay } from '@txbox/core'
import { TXBOX_RELAY } from './tokens.js'

/**
 * Runs the relay with the application: started once every module is
 * initialised (so the providers it uses are ready), stopped before the
 * application closes its connections.
 *
 * `beforeApplicationShutdown` runs after every `onModuleDestroy` and before
 * every `onApplicationShutdown`; `relay.stop()` finishes the batch in flight,
 * which needs the relay's database and broker clients: close those in
 * `onApplicationShutdown`, not in `onModuleDestroy`.
 */
@Injectable()
export class RelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(TXBOX_RELAY) private readonly relay: Relay | null) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.relay?.start()
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay?.stop()
  }
}
