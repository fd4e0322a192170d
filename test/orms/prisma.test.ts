import { PrismaPg } from '@prisma/adapter-pg'
import { describeExecutorConformance } from '@txbox/testing'
import { PrismaClient } from './prisma/generated/client.js'

describeExecutorConformance('prisma', async ({ url, schema }) => {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 3 }, { schema }) })
  type Tx = Parameters<Parameters<typeof prisma.$transaction>[0]>[0]
  return {
    client: prisma,
    transaction: (fn) => prisma.$transaction(fn),
    insertUser: async (tx: Tx, email) => {
      await tx.user.create({ data: { email } })
    },
    outside: [{ what: 'the PrismaClient', handle: prisma, advice: /prisma\.\$transaction\(async \(tx\)/ }],
    close: () => prisma.$disconnect(),
  }
})
