// `npm run test:e2e` checks what it drives before any suite runs: without the AWS CLI v2, rsync, git, curl or bash it
// stops, naming each missing tool and how to install it. The script runs as npm runs it: sh -c, node_modules/.bin first.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { ROOT } from '../../src/local/stack'

const SCRIPT = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['test:e2e']
const dir = mkdtempSync(join(tmpdir(), 'tanuki-e2e-prereq-'))

/** A directory of stand-in tools: each a shell script that prints what it is given (a version line, or nothing). */
function bin (name: string, tools: Record<string, string>): string {
  const path = join(dir, name)
  mkdirSync(path)
  for (const [tool, says] of Object.entries(tools)) {
    writeFileSync(join(path, tool), `#!/bin/sh\n${says ? `echo '${says}'\n` : ''}exit 0\n`)
    chmodSync(join(path, tool), 0o755)
  }
  return path
}
// Node alone (where it is installed, aws may be too: /usr/bin holds both on Debian).
const node = bin('node-only', {})
symlinkSync(process.execPath, join(node, 'node'))
const V1 = 'aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11'
const V2 = 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12'
const others = bin('others', { rsync: '', git: '', curl: '', bash: '' })

function run (command: string, path: string[], env: Record<string, string> = {}) {
  // The kill guard only matters if the check let the suites start; the port base keeps them off others' ports then.
  return spawnSync('/bin/sh', ['-c', command], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
    // Chromium and moto's venv are files, not PATH tools: stand-ins here, so the check reads only what a test gives it.
    env: { PATH: [join(ROOT, 'node_modules', '.bin'), node, ...path].join(':'), HOME: dir, TANUKI_TEST_PORT_BASE: process.env.TANUKI_TEST_PORT_BASE ?? '3430',
      TANUKI_CHROMIUM: process.execPath, TANUKI_MOTO_PYTHON: process.execPath, ...env },
  })
}

test('npm run test:e2e with none of the tools: stops, naming each and how to install it, and runs no suite', t => {
  const r = run(SCRIPT, [])
  t.equal(r.status, 1, 'exit status 1')
  t.match(r.stderr, /^npm run test:e2e needs tools that are missing; no suite was run\.\n/, 'says nothing was run')
  t.match(r.stderr, /- aws: no AWS CLI v2 on PATH; .+ To fix: install AWS CLI v2 \(Debian 12 or later: apt-get install awscli; elsewhere: https:\/\/docs\.aws\.amazon\.com\/cli\/.+\), or name one with TANUKI_AWS_CLI=\/path\/to\/aws\./,
    'aws: what to install, where, and the variable')
  for (const tool of ['rsync', 'git', 'curl', 'bash']) t.match(r.stderr, new RegExp(`- ${tool}: not on PATH; .+ To fix: apt-get install ${tool}`), `${tool}: named, with its install`)
  t.match(r.stderr, /docs\/prerequisites\.md/, 'and the page that lists them')
  t.notOk(r.stdout.includes('TAP version'), 'no suite started')
  t.end()
})

test('npm run test:e2e with an AWS CLI v1 first on PATH and no v2: names the one it found', t => {
  const v1 = bin('v1', { aws: V1 })
  const r = run(SCRIPT, [v1, others])
  t.equal(r.status, 1, 'exit status 1')
  t.equal(r.stderr.split('\n').filter(l => l.startsWith('  - ')).length, 1, 'one tool is missing')
  t.ok(r.stderr.includes(`- aws: no AWS CLI v2 on PATH (found aws-cli/1.45.11 at ${join(v1, 'aws')}); the documented CI jobs run it.`), 'the v1 it found, and where')
  t.notOk(r.stdout.includes('TAP version'), 'no suite started')
  t.end()
})

test('npm run test:e2e without Chromium or moto server\'s venv: names both, with how to get them', t => {
  const v2 = bin('v2-for-files', { aws: V2 })
  const r = run(SCRIPT, [v2, others], { TANUKI_CHROMIUM: join(dir, 'no-chromium'), TANUKI_MOTO_PYTHON: join(dir, 'no-venv', 'python') })
  t.equal(r.status, 1, 'exit status 1')
  t.ok(r.stderr.includes(`- chromium: no ${join(dir, 'no-chromium')}; the console's browser test drives it. To fix: apt-get install chromium`), 'chromium: named, with its install')
  t.ok(r.stderr.includes(`- moto: no ${join(dir, 'no-venv', 'python')}; the pipeline test deploys to moto server. To fix: bash scripts/python-venvs.sh.`), 'moto: named, with the script that makes it')
  t.notOk(r.stdout.includes('TAP version'), 'no suite started')
  t.end()
})

test('the check passes with a v2 later on PATH than a v1, or one named by TANUKI_AWS_CLI; a v1 named there is refused', t => {
  const check = `node --require tsx/cjs ${join('test', 'e2e', 'prerequisites.ts')}`
  const v1 = bin('v1-again', { aws: V1 })
  const v2 = bin('v2', { aws: V2 })
  const later = run(check, [v1, v2, others])
  t.deepEqual([later.status, later.stderr], [0, ''], 'a v2 after a v1 on PATH: the v2 is taken, silently')
  const named = run(check, [v1, others], { TANUKI_AWS_CLI: join(v2, 'aws') })
  t.deepEqual([named.status, named.stderr], [0, ''], 'TANUKI_AWS_CLI naming a v2')
  const wrong = run(check, [v2, others], { TANUKI_AWS_CLI: join(v1, 'aws') })
  t.equal(wrong.status, 1, 'TANUKI_AWS_CLI naming a v1: exit status 1')
  t.ok(wrong.stderr.includes(`- aws: TANUKI_AWS_CLI names no AWS CLI v2 (found aws-cli/1.45.11 at ${join(v1, 'aws')})`), 'it says the variable names a v1, though a v2 is on PATH')
  t.end()
})

test('Teardown', t => {
  rmSync(dir, { recursive: true, force: true })
  t.end()
})
