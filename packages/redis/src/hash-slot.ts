// cluster-key-slot ships no types: the reference brings ours into every
// program that compiles this file from source (the docs' code-block check too).
/// <reference path="./cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot'

/**
 * The hash slot of a stream in a Redis Cluster, as ioredis will address it:
 * with the client's `keyPrefix`, which ioredis prepends to every key before it
 * picks the node. Computed by cluster-key-slot, the function ioredis itself
 * routes with, so streams given one slot here are sent to one node there.
 * A {hash tag} in the name (`{orders}:created`) decides the slot alone.
 */
export function streamSlot(stream: string, keyPrefix: string): number {
  return calculateSlot(keyPrefix + stream)
}
