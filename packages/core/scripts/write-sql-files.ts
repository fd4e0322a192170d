// Writes sql/NNNN_name.sql from the migrations, for the default names.
// Run after changing src/schema/migrations.ts: `pnpm --filter @txbox/core sql:write`.
// A test fails while the files and the migrations differ.
import { writeFileSync } from 'node:fs'
import { sqlFiles } from '../src/schema/sql-files.js'

for (const file of sqlFiles()) {
  writeFileSync(new URL(`../sql/${file.name}`, import.meta.url), file.text)
  console.log(`wrote sql/${file.name}`)
}
