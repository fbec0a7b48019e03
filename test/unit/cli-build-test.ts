// Spec for the compiled CLI (scripts/build-cli.js, bin/tanuki-sts.js): it always runs a build of the sources as they
// are (never an older one), and --help and `mappings validate` load neither the AWS SDK nor jose.
import { execFile } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'

const ROOT = join(__dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'tanuki-sts.js')
const MANIFEST = join(ROOT, 'dist', 'cli.json')
const EXAMPLE = join(ROOT, 'docs', 'examples', 'mappings.yaml')

// Runs bin/tanuki-sts.js with ARGS and, at exit, prints the node_modules packages it loaded (require's cache).
const REPORT_LOADED = `
process.on('exit', () => {
  const packages = new Set(Object.keys(require.cache).flatMap(f => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1] ?? []))
  process.stderr.write('\\nLOADED ' + JSON.stringify([...packages].sort()) + '\\n')
})
process.argv = [process.argv[0], ${JSON.stringify(BIN)}, ...process.argv.slice(1)]
require(${JSON.stringify(BIN)})`

interface Run { code: number; stdout: string; stderr: string; loaded: string[] }

function cli (args: string[]): Promise<Run> {
  return new Promise(resolve => {
    execFile(process.execPath, ['-e', REPORT_LOADED, '--', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const loaded = /\nLOADED (.*)\n/.exec(stderr)?.[1]
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, loaded: loaded ? JSON.parse(loaded) as string[] : [] })
      })
  })
}

const SDK = (p: string) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/')

test('--help loads commander and the CLI, not the AWS SDK, jose or yaml', async t => {
  const r = await cli(['--help'])
  t.equal(r.code, 0, 'exit 0')
  t.match(r.stdout, /Usage: tanuki-sts/, 'the usage')
  t.deepEqual(r.loaded.filter(p => SDK(p) || p === 'jose' || p === 'yaml'), [], `loaded only: ${r.loaded.join(', ')}`)
})

test('mappings validate FILE loads the YAML parser, not the AWS SDK or jose', async t => {
  const r = await cli(['mappings', 'validate', EXAMPLE])
  t.equal(r.code, 0, 'exit 0')
  t.match(r.stdout, /mappings valid/, 'validated')
  t.ok(r.loaded.includes('yaml'), 'yaml')
  t.deepEqual(r.loaded.filter(p => SDK(p) || p === 'jose'), [], `no SDK, no jose: ${r.loaded.join(', ')}`)
})

test('a build made from other sources than these is never run: the CLI builds again first', async t => {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { inputs: string[]; digest: string }
  writeFileSync(MANIFEST, JSON.stringify({ ...manifest, digest: 'a build of older sources' }))
  const stale = await cli(['--version'])
  t.equal(stale.code, 0, 'it runs')
  t.ok(stale.loaded.includes('esbuild'), 'after building with esbuild')
  t.equal((JSON.parse(readFileSync(MANIFEST, 'utf8')) as { digest: string }).digest, manifest.digest, 'the new build records the sources it was made from')
  const current = await cli(['--version'])
  t.notOk(current.loaded.includes('esbuild'), 'a current build is run as it is')
  t.equal(current.stdout, stale.stdout, 'with the same output')
})

test('no build at all (a clone installed with --ignore-scripts): the first run builds it', async t => {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true })
  const r = await cli(['--version'])
  t.equal(r.code, 0, 'it runs')
  t.match(r.stdout, /^\d+\.\d+\.\d+\n$/, 'the version')
  t.ok(r.loaded.includes('esbuild'), 'built first')
})
