import type { Executor } from './executor.js'

/** The part of a PrismaClient (or of its interactive-transaction client) txbox uses. */
interface PrismaLike {
  $queryRawUnsafe(query: string, ...values: unknown[]): Promise<unknown>
  $transaction?(fn: (tx: unknown) => Promise<unknown>, options?: object): Promise<unknown>
}

/**
 * Marks a Prisma ≥ 7.10 interactive-transaction client (`tx`), which also has
 * `$transaction` (for nesting); before 7.10 a `tx` has no `$transaction`.
 */
const SCOPE_CONTEXT = Symbol.for('prisma.client.transaction.scope_context')

/** Prisma 7 (with a driver adapter such as @prisma/adapter-pg): `prisma.$transaction(async (tx) => …)`. */
export const prismaExecutor: Executor = {
  name: 'Prisma',
  recognises: (handle) =>
    typeof (handle as PrismaLike).$queryRawUnsafe === 'function' && typeof (handle as { $executeRawUnsafe?: unknown }).$executeRawUnsafe === 'function',
  notInTransaction(handle) {
    if (isTransactionClient(handle as PrismaLike)) return undefined
    return 'enqueueOnCommit was given the PrismaClient itself, so the message would commit on its own, whether or not your data does: pass the `tx` of an interactive transaction, as in prisma.$transaction(async (tx) => { await enqueueOnCommit(tx, message) }) or withTransaction(prisma, async (tx) => { … }). The array form prisma.$transaction([…]) cannot carry an enqueue.'
  },
  async run(handle, text, values) {
    const rows = await (handle as PrismaLike).$queryRawUnsafe(text, ...values)
    return { rows: Array.isArray(rows) ? rows : [] }
  },
  transaction: (client, fn) => (client as Required<PrismaLike>).$transaction(fn as (tx: unknown) => Promise<unknown>) as Promise<any>,
  savepoint: (tx, fn) => (tx as Required<PrismaLike>).$transaction(fn as (tx: unknown) => Promise<unknown>) as Promise<any>,
}

function isTransactionClient(handle: PrismaLike): boolean {
  return (handle as unknown as Record<symbol, unknown>)[SCOPE_CONTEXT] !== undefined || typeof handle.$transaction !== 'function'
}
