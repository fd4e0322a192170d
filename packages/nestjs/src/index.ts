// The public names of @txbox/nestjs. Nothing is defined here.

export { TxboxModule } from './txbox-module.js'
export { OutboxService } from './outbox-service.js'
export { TXBOX_RELAY } from './tokens.js'
export type { TxboxModuleAsyncOptions, TxboxModuleOptions, TxboxModuleRootOptions } from './txbox-module-options.js'
