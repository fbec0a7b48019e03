// `mappings plan --from OLD... NEW...`: the plan between two sets of mapping files, offline (no table, no AWS call):
// what applying NEW where OLD was applied would change. A merge request's review job runs it against its target branch.
// With `--impact PERIOD` and a target, it also replays the target's audit records of the period against the OLD files'
// mappings and the plan's (impact-preview.ts, as `mappings apply --dry-run --impact`): the one thing it reads.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { StoredEntry } from '../broker/mappings'
import { readMappingFiles, reportProblems, reportWarnings, uncoveredRoleWarnings, unreadable, untrustedScopeWarnings } from './apply'
import { trustedIssuers } from './local-info'
import { formatProblem } from './problems'
import type { FileProblem } from './problems'
import { CliError } from '../broker/errors'
import { previewImpact } from './impact-preview'
import type { Impact } from './impact'
import { err, out, print, printJson, say } from './output'
import { computePlan, planJson, planSummary, renderPlan } from './plan'
import { addTargetOptions, withTarget } from './target'
import type { TargetOptions } from './target'

const collect = (value: string, previous: string[] = []) => [...previous, value]

/**
 * The files a path stands for: a file itself; a directory, its *.yaml files in name order (what the pipeline's
 * `mappings/*.yaml` applies). A .yml file there is named in `skipped`: the pipeline would not apply it either.
 */
export function mappingFilesAt (path: string, skipped: string[]): string[] {
  let isDirectory: boolean
  try { isDirectory = statSync(path).isDirectory() }
  catch (e) { throw new CliError(unreadable(path, e as NodeJS.ErrnoException)) }
  if (!isDirectory) return [path]
  const names = readdirSync(path).sort()
  skipped.push(...names.filter(n => n.endsWith('.yml')).map(n => join(path, n)))
  return names.filter(n => n.endsWith('.yaml')).map(n => join(path, n))
}

/** The --from side as a table would hold it. Its invalid mappings are left out (and said so): they cannot be compared. */
async function beforeEntries (files: readonly string[]): Promise<{ entries: StoredEntry[]; problems: FileProblem[] }> {
  const before = await readMappingFiles(files)
  const entries = before.mappings.map(m => ({ scope: m.mapping.scope, role: m.mapping.role, mapping: m.mapping, item: { ...m.mapping } }))
  return { entries, problems: before.problems }
}

interface PlanFilesOptions extends TargetOptions { from?: string[]; prune?: boolean; issuer?: string[]; json?: boolean; impact?: string }

/** The plan itself reads no table: a target is there only for --impact to read the audit table from, and --impact needs one. */
function checkImpactOptions (opts: PlanFilesOptions): void {
  const targeted = opts.local || opts.region !== undefined || opts.env !== undefined || opts.app !== undefined
  if (opts.impact === undefined && targeted) {
    throw new CliError('--local, --region, --env and --app go with --impact (the audit table it replays); the plan itself is offline and reads no table.')
  }
  if (opts.impact !== undefined && !targeted) {
    throw new CliError('--impact replays a broker\'s audit records: say whose, with --local (the running sandbox) or --region REGION --env staging|production.')
  }
}

async function planFiles (paths: string[], opts: PlanFilesOptions): Promise<void> {
  const json = Boolean(opts.json)
  if (!opts.from || opts.from.length === 0) throw new CliError('--from is required: the files (or directory) the plan starts from, e.g. the target branch\'s mappings/.')
  checkImpactOptions(opts)
  const skipped: string[] = []
  const fromFiles = opts.from.flatMap(p => mappingFilesAt(p, skipped))
  const files = paths.flatMap(p => mappingFilesAt(p, skipped))
  for (const file of skipped) say(err.dim(`warning: ${file}: not read; the pipeline applies *.yaml files only (rename it to .yaml)`))

  const read = await readMappingFiles(files)
  if (read.problems.length) reportProblems(read, json, false)
  const warnings = [...read.warnings, ...untrustedScopeWarnings(read.mappings, trustedIssuers({ issuer: opts.issuer })), ...uncoveredRoleWarnings(read.mappings, {})]
  reportWarnings({ ...read, warnings })
  const before = await beforeEntries(fromFiles)
  if (before.problems.length) {
    say(err.yellow(`warning: the --from files have ${before.problems.length} problem(s); the mappings they touch are left out, so the plan may show them as new:`))
    for (const p of before.problems) say(err.dim(`  ${formatProblem(p)}`))
  }

  const plan = computePlan(read.mappings.map(m => m.mapping), before.entries, { prune: Boolean(opts.prune) })
  // The records are replayed against the --from files' mappings and the plan's: what merging the files changes, not
  // what the table holds (mappings no file names are in neither set).
  const replay = (period: string) => withTarget(opts, target => previewImpact(target, before.entries, plan, period, json, 'the --from files'))
  if (json) {
    const impact: Impact | undefined = opts.impact === undefined ? undefined : await replay(opts.impact)
    printJson({
      ...planJson(plan),
      files, from: fromFiles,
      warnings: warnings.map(w => ({ ...w, text: formatProblem(w) })),
      fromProblems: before.problems.map(p => ({ ...p, text: formatProblem(p) })),
      ...(impact && { impact }),
    })
    return
  }
  const list = (names: readonly string[]) => names.length ? names.join(', ') : 'no files'
  say(err.dim(`Plan: ${list(files)} against ${list(fromFiles)} (offline: the files only, no table).`))
  const lines = renderPlan(plan, out, { summary: false })
  for (const line of lines) print(line)
  if (lines.length) print()
  print(out.bold(planSummary(plan)))
  if (plan.kept.length > 0) {
    // As `mappings apply` without --prune (the pipeline's) does: a mapping dropped from the files stays in the table.
    print(out.yellow(`${plan.kept.length} mapping(s) in --from but no longer in the files: \`mappings apply\` without --prune keeps them in the table, still granting ` +
      '(delete them with `tanuki-sts mappings delete`, or plan with --prune):'))
    for (const k of plan.kept) print(out.yellow(`  = kept    ${k.scope}  ${k.role}`))
  }
  if (opts.impact !== undefined) await replay(opts.impact)
}

export function registerPlanFiles (mappings: Command): void {
  addTargetOptions(mappings.command('plan')
    .description('the plan between two sets of mapping files, offline (no table, no AWS): what applying the files where the --from files were applied would change')
    .argument('<path...>', 'mapping files, or directories (their *.yaml files)')
    .option('--from <path>', 'the files, or directory, the plan starts from, e.g. the target branch\'s mappings/ (repeatable)', collect)
    .option('--prune', 'as `apply --prune`: mappings only in --from are deleted, not kept')
    .option('--issuer <url>', 'an issuer the broker trusts, to warn of scopes on none (repeatable; default $BROKER_ISSUERS)', collect)
    .option('--impact <period>', 'also replay the audit records of this period (30d, 7d, or since an ISO date) of the target below against the --from files and the plan, ' +
      'and list every decision that would flip (reads the audit table; needs --local or --region and --env)')
    .option('--json', 'print the plan as JSON'))
    .addHelpText('after', '\nExamples:\n  $ git worktree add /tmp/main main && tanuki-sts mappings plan --from /tmp/main/mappings mappings\n' +
      '  $ tanuki-sts mappings plan --from old.yaml new.yaml --json\n' +
      '  $ tanuki-sts mappings plan --from /tmp/main/mappings mappings --impact 30d --region us-east-1 --env production')
    .action(planFiles)
}
