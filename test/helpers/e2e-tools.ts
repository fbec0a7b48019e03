// What the end-to-end suites drive besides node, found as they will run it: the AWS CLI v2, rsync, git, curl and bash,
// gitlab-ci-local (an npm dependency), Debian's Chromium and moto server's venv. A job's PATH then holds exactly the tools found here, and system paths.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { AWS_CLI_VARIABLE, awsCliCandidates, findOnPath } from '../../src/local/aws-cli'
import { ROOT } from '../../src/local/stack'

export const GITLAB_CI_LOCAL = join(ROOT, 'node_modules', 'gitlab-ci-local', 'src', 'index.js')
/** Debian's Chromium, which the console's browser test drives (playwright-core installs no browser); TANUKI_CHROMIUM moves it. */
export const CHROMIUM = process.env.TANUKI_CHROMIUM || '/usr/bin/chromium'
/** moto server's Python (bash scripts/python-venvs.sh), which the pipeline test deploys to. */
export const MOTO_PYTHON = join(ROOT, '.venv', 'moto', 'bin', 'python')

const DEBIAN = 'apt-get install'
const AWS_INSTALL = `install AWS CLI v2 (Debian 12 or later: ${DEBIAN} awscli; elsewhere: ` +
  `https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), or name one with ${AWS_CLI_VARIABLE}=/path/to/aws`

/** A tool the suites run from PATH: why, and how to install it. */
const TOOLS: ReadonlyArray<{ name: string; why: string; install: string }> = [
  { name: 'rsync', why: 'copies the worktree for gitlab-ci-local', install: `${DEBIAN} rsync (macOS: brew install rsync)` },
  { name: 'git', why: 'makes that copy a repository', install: `${DEBIAN} git` },
  { name: 'curl', why: 'the documented CI jobs call the broker with it', install: `${DEBIAN} curl` },
  { name: 'bash', why: 'runs the documented jobs', install: `${DEBIAN} bash` },
]

export interface E2eTools {
  /** Each tool's path, by name (aws, rsync, git, curl, bash), when every one was found. */
  readonly found: Readonly<Record<string, string>>
  /** What is missing, one line each: the tool, why the suites need it, how to install it. Empty when all are there. */
  readonly problems: readonly string[]
}

/** The first of the candidates that says it is AWS CLI v2 (`aws-cli/2.x ...`), or what the others said. */
function findAwsCliV2 (env: NodeJS.ProcessEnv): { path?: string; seen: string[] } {
  const seen: string[] = []
  for (const candidate of awsCliCandidates(env)) {
    // A v1 prints its version on stderr, v2 on stdout. A Python shim may take a second to answer.
    const run = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...env, AWS_PAGER: '' } })
    const version = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split(/\s/)[0] ?? ''
    if (/^aws-cli\/2\./.test(version)) return { path: candidate, seen }
    seen.push(`${version || 'no version'} at ${candidate}`)
  }
  return { seen }
}

/** Finds every tool on env's PATH (the AWS CLI: $TANUKI_AWS_CLI, else the first v2 on PATH). Spawns only `aws --version`. */
export function findE2eTools (env: NodeJS.ProcessEnv = process.env): E2eTools {
  const found: Record<string, string> = {}
  const problems: string[] = []
  const aws = findAwsCliV2(env)
  if (aws.path) found.aws = aws.path
  else {
    const where = env[AWS_CLI_VARIABLE] ? `${AWS_CLI_VARIABLE} names no AWS CLI v2` : 'no AWS CLI v2 on PATH'
    problems.push(`aws: ${where}${aws.seen.length ? ` (found ${aws.seen.join('; ')})` : ''}; the documented CI jobs run it. To fix: ${AWS_INSTALL}.`)
  }
  for (const tool of TOOLS) {
    const path = findOnPath(tool.name, env.PATH)[0]
    if (path) found[tool.name] = path
    else problems.push(`${tool.name}: not on PATH; ${tool.why}. To fix: ${tool.install}.`)
  }
  if (!existsSync(GITLAB_CI_LOCAL)) problems.push('gitlab-ci-local: not in node_modules; it runs the pipeline. To fix: npm install.')
  const chromium = env.TANUKI_CHROMIUM || '/usr/bin/chromium'
  if (!existsSync(chromium)) problems.push(`chromium: no ${chromium}; the console's browser test drives it. To fix: ${DEBIAN} chromium, or name one with TANUKI_CHROMIUM=/path/to/chromium.`)
  const moto = env.TANUKI_MOTO_PYTHON || MOTO_PYTHON
  if (!existsSync(moto)) problems.push(`moto: no ${moto}; the pipeline test deploys to moto server. To fix: bash scripts/python-venvs.sh.`)
  return { found, problems }
}

let jobPath: string | undefined
/**
 * The PATH of a job the suites run: a directory holding only the tools found (so a developer's other `aws`, a v1
 * shim say, is never the one run), node's, then the system's. Throws, listing what is missing, when a tool is.
 */
export function e2eJobPath (): string {
  if (jobPath) return jobPath
  const tools = findE2eTools()
  if (tools.problems.length) throw new Error(`the end-to-end suites cannot run:\n${tools.problems.join('\n')}`)
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-e2e-tools-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  for (const [name, path] of Object.entries(tools.found)) symlinkSync(path, join(dir, name))
  jobPath = [dir, dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':')
  return jobPath
}
