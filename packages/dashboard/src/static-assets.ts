import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// The package's static/ folder: beside dist/ when built, beside src/ in the repository.
const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/** The files the page may load, and nothing else (no path from the request reaches the file system). */
const ASSETS = new Set(['dashboard.js', 'dashboard.css', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css'])

const cache = new Map<string, Promise<Buffer>>()

function load(file: string): Promise<Buffer> {
  let loaded = cache.get(file)
  if (loaded === undefined) {
    loaded = readFile(path.join(STATIC_DIR, file))
    cache.set(file, loaded)
    loaded.catch(() => cache.delete(file))
  }
  return loaded
}

/** Serves `assets/<file>` when it is one of the page's files; false when it is not. */
export async function serveAsset(file: string, response: ServerResponse): Promise<boolean> {
  if (!ASSETS.has(file)) return false
  const body = await load(file)
  response.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'public, max-age=3600' }).end(body)
  return true
}

/** The page, with the values it needs filled in (HTML-escaped). */
export async function renderPage(values: Readonly<Record<string, string>>): Promise<string> {
  const template = (await load('index.html')).toString('utf8')
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => escapeHtml(values[name] ?? ''))
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
