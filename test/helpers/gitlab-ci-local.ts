// Runs this repo's real .gitlab-ci.yml with gitlab-ci-local (shell executor) in a throwaway git clone of the worktree
// (or, for the CI/CD component's tests, another project's pipeline in a repo of its own).
// Leaves what the jobs do to .gitlab-ci.yml; this file only builds the repo, the job environment and the command line.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from '../../src/local/stack'
import { GITLAB_CI_LOCAL as CLI, e2eJobPath } from './e2e-tools'

/** The GitLab project the copy pretends to be (gitlab-ci-local reads CI_PROJECT_PATH from the `origin` remote). */
export const REMOTE = 'https://gitlab.example.com/tanuki/tanuki-sts.git'

export interface JobRun {
  /** gitlab-ci-local's exit status: 0 when every job it ran succeeded. */
  code: number
  /** stdout and stderr as one text, colours off: each job line is prefixed with the job name. */
  output: string
  seconds: number
}

export interface PipelineRepo {
  readonly dir: string
  /** Runs jobs by name; `variables` become `--variable K=V` (GitLab's CI/CD variables, which beat the file's); `file` instead of .gitlab-ci.yml. */
  run (jobs: string[], variables: Record<string, string>, file?: string): Promise<JobRun>
  /** `--list-csv`: the jobs a pipeline with these variables would have, with their `when`; `file` instead of .gitlab-ci.yml. */
  list (variables?: Record<string, string>, unset?: string[], file?: string): Promise<Array<{ name: string; stage: string; when: string }>>
  /** `--preview`: the file (or `file`) with `include`, `extends` and `!reference` resolved, parsed. */
  preview (file?: string): Promise<Record<string, unknown>>
  remove (): void
}

const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/**
 * The environment a shell-executor job inherits: a runner's, not this test process's. The tools e2e-tools.ts found, node and system paths;
 * no AWS_* (the sandbox put the broker's own keys in process.env) and no AWS config files, so a job has only the
 * credentials it got from the broker. HOME is empty: bash sources ~/.bashrc when stdin is a socket (as node gives
 * it), and a developer's rc file (a pyenv `aws` v1 shim, say) must not change which tools the job runs.
 */
function runnerEnv (home: string): NodeJS.ProcessEnv {
  return {
    PATH: e2eJobPath(),
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    // The job's `npm ci` installs from this machine's npm cache, as a runner with a warm cache would.
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    NO_COLOR: '1',
  }
}

/** Commits what `dir` holds on `main`, with an origin at `remote` as a clone has it (origin/main, origin/HEAD). */
function commitAll (dir: string, remote: string): void {
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'add', '-A')
  git(dir, '-c', 'user.name=tanuki-sts e2e', '-c', 'user.email=e2e@tanuki-sts.invalid', 'commit', '-q', '-m', 'pipeline under test')
  git(dir, 'remote', 'add', 'origin', remote)
  // What a clone has: origin/main and origin/HEAD, from which gitlab-ci-local takes CI_DEFAULT_BRANCH.
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD')
  git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
}

/**
 * A git clone-alike of the worktree as it is now (tracked and new files, not ignored ones) on `main`, with an origin.
 * No node_modules: the jobs run `npm ci` themselves (which would empty a symlinked shared one).
 */
export function createPipelineRepo (): PipelineRepo {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-pipeline-'))
  const files = git(ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard').split('\0').filter(f => f !== '' && f !== 'node_modules')
  execFileSync('rsync', ['-a', '--ignore-missing-args', '--from0', '--files-from=-', './', dir], { cwd: ROOT, input: files.join('\0') })
  commitAll(dir, REMOTE)
  return pipelineRepo(dir)
}

/** Another GitLab project: a repo of these files (path -> text) on `main`, whose origin is `remote`. */
export function createProjectRepo (files: Record<string, string>, remote: string): PipelineRepo {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-project-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  commitAll(dir, remote)
  return pipelineRepo(dir)
}

function pipelineRepo (dir: string): PipelineRepo {
  const home = mkdtempSync(join(tmpdir(), 'tanuki-gcl-home-'))

  function gcl (args: string[]): Promise<JobRun> {
    const started = Date.now()
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args, '--home', home, '--no-color', '--max-job-name-padding', '0'], {
        cwd: dir, env: runnerEnv(home), stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.on('data', (c: Buffer) => { output += c.toString() })
      child.stderr.on('data', (c: Buffer) => { output += c.toString() })
      child.on('error', reject)
      child.on('close', code => resolve({ code: code ?? 1, output, seconds: (Date.now() - started) / 1000 }))
    })
  }
  const variableArgs = (variables: Record<string, string>) => Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`])

  return {
    dir,
    // --force-shell-executor: the jobs name `image: node:22`; here they run on this machine, no container engine.
    run: (jobs, variables, file) => gcl([...jobs, '--force-shell-executor', ...variableArgs(variables), ...(file ? ['--file', file] : [])]),
    async list (variables = {}, unset = [], file) {
      const r = await gcl(['--list-csv', ...variableArgs(variables), ...unset.flatMap(u => ['--unset-variable', u]), ...(file ? ['--file', file] : [])])
      if (r.code !== 0) throw new Error(`gitlab-ci-local --list-csv failed:\n${r.output}`)
      const lines = r.output.split('\n')
      const header = lines.findIndex(l => l.startsWith('name;'))
      return lines.slice(header + 1).filter(l => l.includes(';')).map(l => {
        const [name, , stage, when] = l.split(';')
        return { name, stage, when }
      })
    },
    async preview (file) {
      const r = await gcl(['--preview', ...(file ? ['--file', file] : [])])
      if (r.code !== 0) throw new Error(`gitlab-ci-local --preview failed:\n${r.output}`)
      return parse(r.output.slice(r.output.indexOf('---'))) as Record<string, unknown>
    },
    remove () {
      rmSync(dir, { recursive: true, force: true })
      rmSync(home, { recursive: true, force: true })
    },
  }
}
