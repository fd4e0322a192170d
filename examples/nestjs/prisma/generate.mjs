// Generates the example's Prisma client (src/generated/prisma). Runs in the
// repository's `pnpm build`, so a clean clone has it before the tests run.
//
// Prisma's CLI insists on a schema engine binary, which its postinstall
// downloads (pnpm does not run that script). `prisma generate` never runs the
// engine: any executable satisfies the check, so we name Node itself unless
// the caller named one. See test/orms/prisma/generate.mjs.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const schema = fileURLToPath(new URL('./schema.prisma', import.meta.url))
execFileSync('pnpm', ['exec', 'prisma', 'generate', '--schema', schema], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
})
