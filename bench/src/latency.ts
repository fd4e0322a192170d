import type { Benchmark } from './support/benchmark.js'
export const latency: Benchmark = { name: 'latency', title: 'latency', run: async () => ({ tables: [], notes: ['not written yet'], figures: {} }) }
