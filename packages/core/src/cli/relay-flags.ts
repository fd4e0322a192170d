import type { Command } from 'commander'
import { RELAY_OPTIONS, type RelayOptions } from '../relay/relay-options.js'
import { TABLE_OPTIONS } from '../schema/table-names.js'
import { addOptionFlags, optionsFromFlags } from './option-flags.js'

/** The relay options `txbox relay` takes as flags: every option marked `cli`, but the table names, which every command takes. */
const RELAY_FLAG_OPTIONS = Object.fromEntries(Object.entries(RELAY_OPTIONS).filter(([name]) => !(name in TABLE_OPTIONS)))

/** The relay options given as flags. */
export type RelayFlagOptions = Omit<Partial<RelayOptions>, 'db' | 'publisher' | 'listen' | 'pool' | 'logger'>

type RelayFlagList = ReturnType<typeof addOptionFlags>

/** Adds a flag for each relay option (`--batch-size`, `--publish-timeout`, `--backoff-initial-delay`, `--no-block-key-on-failure`, …). */
export function addRelayOptionFlags(command: Command): RelayFlagList {
  return addOptionFlags(command, RELAY_FLAG_OPTIONS)
}

/** The relay options the user gave as flags, checked as createRelay checks them; those left out take createRelay's defaults. */
export function relayOptionsFromFlags(command: Command, flags: RelayFlagList): RelayFlagOptions {
  return optionsFromFlags(command, flags) as RelayFlagOptions
}
