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
  /**
   * Where the block goes in its page's example project, from a
   * `<!-- file: src/relay.ts -->` comment just above it; `undefined` for a
   * block that stands alone.
   */
  readonly path?: string
}

/** A block of any language that a `<!-- file: ... -->` comment places in its page's example project. */
export interface ProjectFile {
  /** The Markdown file, relative to the repository root. */
  readonly page: string
  /** The path in the project, such as `src/relay.ts` or `tsconfig.json`. */
  readonly path: string
  readonly code: string
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
const FILE = /^<!--\s*file:\s*(\S+)\s*-->$/

/**
 * The page whose example project every page's project builds on: a page's
 * `file:` blocks are added to (or replace) this page's, so the adapter pages
 * can import `./db.js` and `./email.js` from getting started.
 */
export const BASE_PAGE = 'docs/getting-started.md'

/** The fenced blocks of one Markdown text, any language, with the comments just above each. */
function fencedBlocks(markdown: string): { lang: string; line: number; code: string; prelude: string; path?: string }[] {
  const lines = markdown.split('\n')
  const blocks: { lang: string; line: number; code: string; prelude: string; path?: string }[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i]!.trim()
    if (!fence.startsWith('```')) continue
    const end = closingFence(lines, i)
    blocks.push({ lang: fence.slice(3).trim(), line: i + 2, code: lines.slice(i + 1, end).join('\n'), ...commentsAbove(lines, i) })
    i = end
  }
  return blocks
}

/** The `prelude:` and `file:` comments right above the fence at line `fence` (in either order). */
function commentsAbove(lines: readonly string[], fence: number): { prelude: string; path?: string } {
  let before = lines.slice(0, fence).join('\n').trimEnd()
  let prelude = ''
  let path: string | undefined
  while (before.endsWith('-->')) {
    const start = before.lastIndexOf('<!--')
    if (start < 0) break
    const comment = before.slice(start)
    const isPrelude = PRELUDE.exec(comment)
    const isFile = FILE.exec(comment)
    if (isPrelude) prelude = isPrelude[1]?.trim() ?? ''
    else if (isFile) path = isFile[1]
    else break
    before = before.slice(0, start).trimEnd()
  }
  return path === undefined ? { prelude } : { prelude, path }
}

/** Finds the ```ts blocks of one Markdown text, with the prelude and file comments that precede each. */
export function extractBlocks(file: string, markdown: string): CodeBlock[] {
  return fencedBlocks(markdown)
    .filter((b) => FENCE_OPEN.test(`\`\`\`${b.lang}`))
    .map(({ line, code, prelude, path }) => (path === undefined ? { file, line, code, prelude } : { file, line, code, prelude, path }))
}

/** The blocks of one Markdown text, in any language, that a `file:` comment places in the page's example project. */
export function extractProjectFiles(page: string, markdown: string): ProjectFile[] {
  return fencedBlocks(markdown).flatMap((b) => (b.path === undefined ? [] : [{ page, path: b.path, code: b.code }]))
}

/**
 * The commands of one Markdown text's ```sh blocks, in order: one per line,
 * comments (` # …`) and blank lines left out.
 */
export function shellCommands(markdown: string): string[] {
  return fencedBlocks(markdown)
    .filter((b) => b.lang === 'sh' || b.lang === 'bash')
    .flatMap((b) => b.code.split('\n'))
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '')
}

/**
 * The example project of `page`: the base page's files (see BASE_PAGE) with
 * the page's own added or put in their place, by path.
 */
export function projectOf(page: string, files: readonly ProjectFile[]): Map<string, ProjectFile> {
  const project = new Map<string, ProjectFile>()
  for (const f of files) if (f.page === BASE_PAGE) project.set(f.path, f)
  for (const f of files) if (f.page === page) project.set(f.path, f)
  return project
}

function closingFence(lines: readonly string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (lines[j]!.trim().startsWith('```')) return j
  throw new Error(`unclosed code fence at line ${open + 1}`)
}

/** The Markdown files whose blocks are checked: the README, the packages' READMEs and docs/. */
export function documentationFiles(root: string): string[] {
  const files = ['README.md', 'packages/core/README.md', 'packages/redis/README.md', 'packages/rabbitmq/README.md'].filter((f) => existsSync(join(root, f)))
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
  '@txbox/prometheus': 'packages/prometheus/src/index.ts',
  '@txbox/dashboard': 'packages/dashboard/src/index.ts',
  '@txbox/nestjs': 'packages/nestjs/src/index.ts',
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
  'prom-client': 'packages/prometheus',
  // The ORMs of docs/orms/, from the package whose tests run them.
  '@prisma/adapter-pg': 'test',
  'drizzle-orm': 'test',
  postgres: 'test',
  typeorm: 'test',
  knex: 'test',
  '@mikro-orm/core': 'test',
  '@mikro-orm/postgresql': 'test',
  sequelize: 'test',
  // docs/orms/nestjs.md
  '@nestjs/common': 'packages/nestjs',
  '@nestjs/core': 'packages/nestjs',
  'nestjs-cls': 'packages/nestjs',
  '@nestjs-cls/transactional': 'packages/nestjs',
  '@nestjs-cls/transactional-adapter-typeorm': 'packages/nestjs',
  '@nestjs-cls/transactional-adapter-prisma': 'examples/nestjs',
}

/**
 * Writes each block as a module (prelude, then code) into a temporary folder
 * under `root`, type-checks them all in one program and returns the errors,
 * located in the Markdown files. The folder is removed afterwards. Blocks with
 * a `path` go into a folder per page, at that path, next to the base page's
 * (see projectOf), so that `import { db } from './db.js'` finds `src/db.ts`.
 */
export function typeCheckBlocks(root: string, blocks: readonly CodeBlock[]): BlockError[] {
  mkdirSync(join(root, 'docs'), { recursive: true })
  const dir = mkdtempSync(join(root, 'docs', '.code-blocks-'))
  try {
    linkThirdPartyPackages(root, dir)
    const sources = new Map<string, { block: CodeBlock; preludeLines: number }>()
    const moduleText = (block: CodeBlock) => {
      const prelude = block.prelude ? `${block.prelude}\n` : ''
      // `export {}` makes every block a module: its names stay its own, and top-level await works.
      return { text: `${prelude}${block.code}\nexport {}\n`, preludeLines: prelude ? prelude.split('\n').length - 1 : 0 }
    }
    const slug = (file: string) => file.replace(/[^a-zA-Z0-9]+/g, '_')
    blocks.forEach((block, index) => {
      const name = block.path === undefined ? join(dir, `${slug(block.file)}_L${block.line}_${index}.ts`) : join(dir, slug(block.file), block.path)
      mkdirSync(dirname(name), { recursive: true })
      const { text, preludeLines } = moduleText(block)
      writeFileSync(name, text)
      sources.set(realpathSync(name), { block, preludeLines })
    })
    // Each page's project also holds the base page's files it does not replace:
    // copies, compiled for the imports, whose errors are reported once, as the base page's.
    const copies = new Set<string>()
    const pages = new Set(blocks.flatMap((b) => (b.path === undefined ? [] : [b.file])))
    for (const page of pages) {
      for (const base of blocks) {
        if (base.file !== BASE_PAGE || base.path === undefined || page === BASE_PAGE) continue
        const name = join(dir, slug(page), base.path)
        if (existsSync(name)) continue
        mkdirSync(dirname(name), { recursive: true })
        writeFileSync(name, moduleText(base).text)
        copies.add(realpathSync(name))
      }
    }

    const program = ts.createProgram([...sources.keys(), ...copies], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      strict: true,
      noUncheckedIndexedAccess: true,
      // Nest's decorators (docs/orms/nestjs.md) are TypeScript's legacy ones.
      experimentalDecorators: true,
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
      if (diagnostic.file && copies.has(realpathSync(diagnostic.file.fileName))) continue
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

/** Every `file:` block of the documentation, for the example projects (see projectOf). */
export function readProjectFiles(root: string): ProjectFile[] {
  return documentationFiles(root).flatMap((file) => extractProjectFiles(file, readFileSync(join(root, file), 'utf8')))
}
