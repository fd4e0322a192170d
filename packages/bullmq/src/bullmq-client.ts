// The BullMQ types the adapter uses. Unlike the other adapters, it does not
// type a subset of its client: `connection` is BullMQ's own option, handed to
// BullMQ's `Queue` unchanged, and the jobs it checks are BullMQ's `Job`s, so
// BullMQ's types are the contract. They are named here, as the other adapters
// name their clients' types in their `-client.ts`; bullmq stays a peer
// dependency (type imports leave nothing in the build).
export type { ConnectionOptions, Job, JobsOptions, Queue } from 'bullmq'
