// Extracts the TypeScript blocks of the documentation and type-checks them
// against the real packages, so the docs cannot drift from the code.
// The conventions are described in docs/README.md ("Code blocks are checked").
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'

/** One fenced TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  readonly file: string
  /** Line of the block's first code line in the Markdown file (1-based). */
  readonly line: number
  readonly code: string
  /** Declarations from a `<!-- prelude: ... -->` comment just above the block. */
  readonly prelude: string
}

/** A type error, located in the Markdown file. */
export interface BlockError {
  readonly file: string
  /** Line in the Markdown file, or of the hidden prelude when `inPrelude`. */
  readonly line: number
  readonly inPrelude: boolean
  readonly message: string
}

const FENCE_OPEN = /^```(ts|typescript|tsx)\s*$/
const PRELUDE = /^<!--\s*prelude:([\s\S]*)-->$/

/** Finds the ```ts blocks of one Markdown text, with the prelude comment that precedes each. */
export function extractBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i]!.trim()
    if (!FENCE_OPEN.test(fence)) {
      if (fence.startsWith('```')) i = closingFence(lines, i) // skip other languages' blocks whole
      continue
    }
    const end = closingFence(lines, i)
    const before = lines.slice(0, i).join('\n').trimEnd()
    const prelude = PRELUDE.exec(before.slice(before.lastIndexOf('<!--')))?.[1]?.trim() ?? ''
    blocks.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n'), prelude })
    i = end
  }
  return blocks
}

function closingFence(lines: readonly string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (lines[j]!.trim().startsWith('```')) return j
  throw new Error(`unclosed code fence at line ${open + 1}`)
}

/** The Markdown files whose blocks are checked: the README, the core package's README and docs/. */
export function documentationFiles(root: string): string[] {
  const files = ['README.md', 'packages/core/README.md'].filter((f) => existsSync(join(root, f)))
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') walk(path)
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path)
    }
  }
  walk('docs')
  return files
}

/** Where the docs' imports resolve: our packages to their sources, the others to the copies our packages use. */
const OUR_PACKAGES: Record<string, string> = {
  '@txbox/core': 'packages/core/src/index.ts',
  '@txbox/redis': 'packages/redis/src/index.ts',
  '@txbox/rabbitmq': 'packages/rabbitmq/src/index.ts',
  '@txbox/bullmq': 'packages/bullmq/src/index.ts',
  '@txbox/nats': 'packages/nats/src/index.ts',
}
const THIRD_PARTY: Record<string, string> = {
  kysely: 'packages/core',
  pg: 'packages/core',
  '@types/pg': 'packages/core',
  ioredis: 'packages/redis',
  amqplib: 'packages/rabbitmq',
  '@types/amqplib': 'packages/rabbitmq',
  bullmq: 'packages/bullmq',
  '@nats-io/transport-node': 'packages/nats',
  '@nats-io/jetstream': 'packages/nats',
  fastify: 'examples/http-app',
}

/**
 * Writes each block as a module (prelude, then code) into a temporary folder
 * under `root`, type-checks them all in one program and returns the errors,
 * located in the Markdown files. The folder is removed afterwards.
 */
export function typeCheckBlocks(root: string, blocks: readonly CodeBlock[]): BlockError[] {
  mkdirSync(join(root, 'docs'), { recursive: true })
  const dir = mkdtempSync(join(root, 'docs', '.code-blocks-'))
  try {
    linkThirdPartyPackages(root, dir)
    const sources = new Map<string, { block: CodeBlock; preludeLines: number }>()
    blocks.forEach((block, index) => {
      const name = join(dir, `${block.file.replace(/[^a-zA-Z0-9]+/g, '_')}_L${block.line}_${index}.ts`)
      const prelude = block.prelude ? `${block.prelude}\n` : ''
      // `export {}` makes every block a module: its names stay its own, and top-level await works.
      writeFileSync(name, `${prelude}${block.code}\nexport {}\n`)
      sources.set(realpathSync(name), { block, preludeLines: prelude ? prelude.split('\n').length - 1 : 0 })
    })

    const program = ts.createProgram([...sources.keys()], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      baseUrl: root,
      paths: Object.fromEntries(Object.entries(OUR_PACKAGES).map(([name, path]) => [name, [path]])),
    })
    const errors: BlockError[] = []
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
      const source = diagnostic.file && sources.get(realpathSync(diagnostic.file.fileName))
      if (!source || diagnostic.start === undefined) {
        // An error outside the blocks (a package's own types): report it as is.
        const where = diagnostic.file ? relative(root, diagnostic.file.fileName) : 'compiler'
        errors.push({ file: where, line: 0, inPrelude: false, message: `TS${diagnostic.code}: ${message}` })
        continue
      }
      const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start)
      const inPrelude = line < source.preludeLines
      errors.push({
        file: source.block.file,
        line: inPrelude ? line + 1 : source.block.line + line - source.preludeLines,
        inPrelude,
        message: `TS${diagnostic.code}: ${message}`,
      })
    }
    return errors
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** pnpm keeps each package's dependencies to itself: give the temporary folder links to them. */
function linkThirdPartyPackages(root: string, dir: string): void {
  for (const [name, owner] of Object.entries(THIRD_PARTY)) {
    const target = join(root, owner, 'node_modules', name)
    if (!existsSync(target)) continue
    const link = join(dir, 'node_modules', name)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(realpathSync(target), link, 'dir')
  }
}

export function formatError(error: BlockError): string {
  if (error.line === 0) return `${error.file}: ${error.message}`
  return error.inPrelude ? `${error.file}: prelude line ${error.line} of a block: ${error.message}` : `${error.file}:${error.line}: ${error.message}`
}

export function readBlocks(root: string): CodeBlock[] {
  return documentationFiles(root).flatMap((file) => extractBlocks(file, readFileSync(join(root, file), 'utf8')))
}
