import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@txbox/testing'

// The CLI tests run the BUILT executable, as users do: dist/cli/main.js.
const coreDir = fileURLToPath(new URL('../..', import.meta.url))
export const repoRoot = path.resolve(coreDir, '../..')
export const CLI = path.join(coreDir, 'dist/cli/main.js')

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs)
  }
  return newest
}

function stale(packageDir: string, artifact: string): boolean {
  const built = path.join(packageDir, artifact)
  return !existsSync(built) || statSync(built).mtimeMs < newestSource(path.join(packageDir, 'src'))
}

/**
 * Builds the workspace package in `packageDir` when `artifact` is missing or
 * older than a source file (`pnpm test` builds first, so this is for running
 * one file with vitest). A lock directory keeps parallel test files from
 * building the same package at once.
 */
export async function ensureBuilt(packageDir: string, artifact: string): Promise<void> {
  if (!stale(packageDir, artifact)) return
  const lock = path.join(packageDir, 'node_modules', '.txbox-test-build.lock')
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      await waitFor(() => !existsSync(lock), { timeoutMs: 120_000, intervalMs: 100, message: `another test file is building ${packageDir} (${lock})` })
    }
  }
  try {
    if (stale(packageDir, artifact)) execFileSync('pnpm', ['build'], { cwd: packageDir, stdio: 'pipe' })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Builds @txbox/core when dist/cli/main.js is missing or stale. */
export function ensureCliBuilt(): Promise<void> {
  return ensureBuilt(coreDir, 'dist/cli/main.js')
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  /** Added to a clean environment (PATH and HOME only; no DATABASE_URL or TXBOX_BROKER_URL unless given). */
  env?: Record<string, string>
  cwd?: string
}

/** A running `txbox` process. */
export interface CliProcess {
  readonly pid: number
  /** Everything written so far. */
  stdout(): string
  stderr(): string
  /** Resolves once the process exited and its pipes closed. */
  readonly exited: Promise<CliResult>
  kill(signal: NodeJS.Signals): void
}

export function startCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return {
    pid: child.pid ?? -1,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => {
      child.kill(signal)
    },
  }
}

/** Runs `txbox ...args` to completion (killed after `timeoutMs`, which fails the caller's expectations). */
export async function runCli(args: readonly string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const proc = startCli(args, options)
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  try {
    return await proc.exited
  } finally {
    clearTimeout(timer)
  }
}

/** The help text of `txbox ...command --help`, as docs/cli.md shows it. */
export async function helpOf(command: readonly string[]): Promise<string> {
  const result = await runCli([...command, '--help'])
  if (result.code !== 0) throw new Error(`txbox ${command.join(' ')} --help exited ${result.code}: ${result.stderr}`)
  return result.stdout
}

/** Bytes a process has written so far, to any file, pipe or socket (Linux's /proc/<pid>/io). */
function bytesWritten(pid: number): number {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0 // exited meanwhile
  }
}

/**
 * Runs `txbox ...args` with a reader that starts reading stdout only once the
 * process has exited or filled the pipe (64 KiB on Linux, as when `jq` has not
 * started reading yet): a CLI that exits before its output drained loses the
 * rest, deterministically. A CLI that waits for the drain finishes normally.
 */
export async function runCliWithLateReader(args: readonly string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  let exited = false
  child.once('exit', () => {
    exited = true
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  // Listening, then paused: Node would otherwise drain an unread pipe into the void when the child exits.
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stdout.pause()
  const closed = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  try {
    const pid = child.pid ?? -1
    // Its database traffic is a few KiB: past 64 KiB written, the pipe is full.
    await waitFor(() => exited || bytesWritten(pid) >= 64 * 1024, { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 10, message: 'the CLI neither exited nor filled its stdout pipe' })
    child.stdout.resume()
    return await closed
  } finally {
    clearTimeout(timer)
  }
}
