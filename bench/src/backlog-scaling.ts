import type { Benchmark } from './support/benchmark.js'
export const backlogScaling: Benchmark = { name: 'backlog-scaling', title: 'backlog-scaling', run: async () => ({ tables: [], notes: ['not written yet'], figures: {} }) }
