// The types of cluster-key-slot (which ships none), the function ioredis
// routes Cluster commands with. See hash-slot.ts.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0 to 16383) of a key: CRC16 of the key, or of its {hash tag}, modulo 16384. */
  function calculateSlot(key: string | Buffer): number
  export = calculateSlot
}
