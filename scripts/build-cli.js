// The `tanuki-sts` CLI compiled: src/cli/main.ts bundled by esbuild into dist/cli.js (`npm install` and `npm ci` run
// this as `prepare`). Dependencies stay in node_modules, each loaded when a command first needs it.
// A build records what it was made from (dist/cli.json): bin/tanuki-sts.js rebuilds when any of it changed, so no run
// and no test ever uses a build older than the source (after an edit, a git pull, or `npm ci --ignore-scripts`).
// Plain JS: it runs before anything else is compiled.
'use strict'
const { createHash } = require('node:crypto')
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs')
const { join, relative } = require('node:path')

const ROOT = join(__dirname, '..')
const OUTFILE = join(ROOT, 'dist', 'cli.js')
const MANIFEST = join(ROOT, 'dist', 'cli.json')

/** One digest of the files, each named and in full; undefined when one of them is gone. */
function digest (files) {
  const hash = createHash('sha256')
  for (const file of files) {
    let bytes
    try { bytes = readFileSync(join(ROOT, file)) }
    catch { return undefined }
    hash.update(`${file}\0${bytes.length}\0`).update(bytes)
  }
  return hash.digest('hex')
}

/** dist/cli.js if it was built from the files as they are now, else undefined (missing, or any input changed). */
function current () {
  let manifest
  try { manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) }
  catch { return undefined }
  if (!Array.isArray(manifest.inputs) || typeof manifest.digest !== 'string') return undefined
  return digest(manifest.inputs) === manifest.digest ? OUTFILE : undefined
}

/** Written whole or not at all: a run started meanwhile (another build, a test) never reads half a file. */
function writeAtomic (file, text) {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, file)
}

/** Builds dist/cli.js, then records its inputs: the sources, this file, tsconfig.json and esbuild's version. */
function build () {
  const esbuild = require('esbuild')
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: ['src/cli/main.ts'],
    outfile: OUTFILE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: 'tsconfig.json',
    // node_modules is not bundled: the AWS SDK, jose and yaml load only in the commands that import them (await import).
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'error',
  })
  const inputs = [...Object.keys(result.metafile.inputs), relative(ROOT, __filename), 'tsconfig.json', relative(ROOT, require.resolve('esbuild/package.json'))]
  mkdirSync(join(ROOT, 'dist'), { recursive: true })
  writeAtomic(OUTFILE, result.outputFiles[0].contents)
  writeAtomic(MANIFEST, JSON.stringify({ inputs, digest: digest(inputs) }, null, 2) + '\n')
  return OUTFILE
}

module.exports = { build, current, OUTFILE }

if (require.main === module) build()
