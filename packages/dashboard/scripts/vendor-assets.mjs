// Copies the chart library (uPlot) into static/vendor/ at build time: the page
// loads it from the dashboard itself, never from a CDN.
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const vendor = path.join(here, '../static/vendor')
const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'))
mkdirSync(vendor, { recursive: true })
for (const file of ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css', 'LICENSE']) {
  copyFileSync(path.join(uplot, file), path.join(vendor, file === 'LICENSE' ? 'uPlot.LICENSE' : path.basename(file)))
}
