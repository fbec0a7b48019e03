// The template checks: the CloudFormation (SAM) templates `arc deploy` would send, for staging and production, with every
// @tanuki-sts option off and with every option on, linted by cfn-lint (AWS's linter, which applies the SAM transform
// itself) and scanned by checkov. What each tool is told to ignore, and why: .cfnlintrc and .checkov.yaml.
// Usage: npm run check:template   (the tools come from .venv/checks: bash scripts/python-venvs.sh; docs/deploy-checks.md)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { synth } from './synth'

const ROOT = join(__dirname, '..')
const OUT = join(ROOT, '.tanuki', 'template-checks')
const BIN = join(ROOT, '.venv', 'checks', 'bin')

/** Every option of the deploy plugin (src/plugins/tanuki-sts.js), each at a value a deployment could use. */
export const ALL_OPTIONS = [
  'permissions-boundary arn:aws:iam::111122223333:policy/tanuki-sts-boundary',
  'log-retention-days 365',
  'access-log-retention-days 365',
  'throttle-rate 50',
  'throttle-burst 200',
  'alarm-email "ops@example.com"', // quoted: Architect's parser reads an unquoted @ as a pragma
  'metrics-per-project on',
]

/** ./app.arc with its @tanuki-sts rows replaced: target-roles as configured, then `options`. */
export function withOptions (arc: string, options: string[]): string {
  const lines = arc.split('\n')
  const at = lines.findIndex(l => l.trim() === '@tanuki-sts')
  if (at === -1) throw new Error('app.arc has no @tanuki-sts pragma')
  const end = lines.findIndex((l, i) => i > at && l.trim().startsWith('@'))
  const section = lines.slice(at + 1, end === -1 ? undefined : end)
  const targetRoles = section.filter(l => l.trim().startsWith('target-roles '))
  if (targetRoles.length !== 1) throw new Error('app.arc: @tanuki-sts needs one target-roles row')
  return [...lines.slice(0, at + 1), ...targetRoles, ...options, ...(end === -1 ? [] : lines.slice(end))].join('\n')
}

function run (tool: string, args: string[]): number {
  const bin = join(BIN, tool)
  if (!existsSync(bin)) {
    console.error(`${relative(ROOT, bin)} is missing: run bash scripts/python-venvs.sh first`)
    return 1
  }
  console.log(`\n$ ${relative(ROOT, bin)} ${args.join(' ')}`)
  // BC_SKIP_MAPPING (with skip-download in .checkov.yaml): checkov asks no server for guidelines; both tools stay offline.
  return spawnSync(bin, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' } }).status ?? 1
}

async function main (): Promise<number> {
  const arc = readFileSync(join(ROOT, 'app.arc'), 'utf8')
  mkdirSync(OUT, { recursive: true })
  const files: string[] = []
  for (const production of [false, true]) {
    for (const [label, options] of [['options-off', []], ['options-on', ALL_OPTIONS]] as const) {
      const file = join(OUT, `${production ? 'production' : 'staging'}-${label}.json`)
      writeFileSync(file, JSON.stringify(await synth(ROOT, production, withOptions(arc, [...options])), null, 2) + '\n')
      files.push(relative(ROOT, file))
    }
  }
  console.log(`synthesised ${files.join(', ')}`)
  const lint = run('cfn-lint', files)
  const scan = run('checkov', ['--config-file', '.checkov.yaml', ...files.flatMap(f => ['--file', f])])
  console.log(`\ncfn-lint: ${lint === 0 ? 'clean' : `exit ${lint}`}; checkov: ${scan === 0 ? 'clean' : `exit ${scan}`}`)
  return lint === 0 && scan === 0 ? 0 : 1
}

if (require.main === module) {
  main().then(code => process.exit(code)).catch(err => {
    console.error(`check-template failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  })
}
