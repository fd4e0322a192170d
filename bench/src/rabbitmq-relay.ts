import type { Benchmark } from './support/benchmark.js'
export const rabbitmqRelay: Benchmark = { name: 'rabbitmq-relay', title: 'rabbitmq-relay', run: async () => ({ tables: [], notes: ['not written yet'], figures: {} }) }
