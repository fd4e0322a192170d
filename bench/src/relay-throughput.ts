import type { Benchmark } from './support/benchmark.js'
export const relayThroughput: Benchmark = { name: 'relay-throughput', title: 'relay-throughput', run: async () => ({ tables: [], notes: ['not written yet'], figures: {} }) }
