// Bundles the learner's web app (web/src) with esbuild into web/dist, which is not committed:
// hashed asset names (served with a year's cache) and an index.html that names them.
// `node web/build.ts` builds; the api builds it at start-up when the folder is missing.
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Plugin } from 'esbuild'
import type { Catalogue } from '../src/domain/components.ts'

export const WEB_DIST = new URL('./dist/', import.meta.url).pathname
const SRC = new URL('./src/', import.meta.url).pathname

export interface WebBuild {
  script: string
  style: string
  /** Bytes of the minified script, before and after gzip. */
  scriptBytes: number
  scriptGzipBytes: number
}

export interface WebBuildOptions {
  /** The component types the app offers (default: the domain's CATALOGUE, as web/src/catalogue.ts has it). */
  catalogue?: Catalogue
}

/** The app's catalogue module (web/src/catalogue.ts) replaced by the given catalogue, as data. */
function catalogueModule(catalogue: Catalogue): Plugin {
  return {
    name: 'catalogue',
    setup(build) {
      build.onLoad({ filter: /[\\/]web[\\/]src[\\/]catalogue\.ts$/ }, () => ({
        contents: `export const catalogue = ${JSON.stringify(catalogue)}`,
        loader: 'js'
      }))
    }
  }
}

/** Builds into a fresh folder and swaps it in, so a server reading web/dist never sees half a build. */
export async function buildWeb(outDir = WEB_DIST, options: WebBuildOptions = {}): Promise<WebBuild> {
  const staging = `${outDir.replace(/\/$/, '')}.${process.pid}.tmp`
  await rm(staging, { recursive: true, force: true })
  // Loaded here, not at the top: a server that finds the app built never loads esbuild.
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [join(SRC, 'main.ts'), join(SRC, 'app.css')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    outdir: join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: options.catalogue ? [catalogueModule(options.catalogue)] : []
  })
  const outputs = Object.entries(result.metafile.outputs)
  const script = outputs.find(([file]) => file.endsWith('.js'))
  const style = outputs.find(([file]) => file.endsWith('.css'))
  if (!script || !style) throw new Error('web build: expected one script and one style sheet')
  const names = { script: basename(script[0]), style: basename(style[0]) }
  await writeFile(join(staging, 'index.html'), indexHtml(names.script, names.style))
  await rm(outDir, { recursive: true, force: true })
  await mkdir(join(outDir, '..'), { recursive: true })
  await rename(staging, outDir)
  const code = await readFile(join(outDir, 'assets', names.script))
  return { ...names, scriptBytes: code.length, scriptGzipBytes: gzipSync(code).length }
}

/** The built app's folder, building it first when it is missing. */
export async function ensureWebBuilt(outDir = WEB_DIST): Promise<string> {
  if (!existsSync(join(outDir, 'index.html'))) await buildWeb(outDir)
  return outDir
}

function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>System Design Coach</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>System Design Coach needs JavaScript.</noscript></div>
</body>
</html>
`
}

if (import.meta.main) {
  const built = await buildWeb()
  const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`
  process.stdout.write(
    `web app built: ${built.script} (${kB(built.scriptBytes)} minified, ${kB(built.scriptGzipBytes)} gzipped), ${built.style}\n`
  )
}
