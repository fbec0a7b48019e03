// `mappings validate FILE...` and `mappings apply FILE... [--dry-run] [--prune]`: check the files, plan against the
// table, then write each step conditionally on what was read at plan time. Parsing is mapping-file.ts's, diffing plan.ts's.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ApplyConflict, CliError, MappingConflict } from '../broker/errors'
import { parseScope } from '../broker/scope'
import type { MappingAdmin } from '../broker/mappings'
import { trustedIssuers } from './local-info'
import type { FileMapping, MappingFiles } from './mapping-file'
import { EXIT_CHANGES, EXIT_CONFLICT, confirm, err, out, print, printJson, say } from './output'
import { computePlan, hasChanges, planJson, renderPlan } from './plan'
import type { Plan, PlanStep } from './plan'
import { formatProblem } from './problems'
import type { FileProblem } from './problems'
import { expectedVersion, resolveActor, stamp } from './stamp'
import { addTargetOptions, mappingAdmin, withTarget } from './target'
import { previewImpact } from './impact-preview'
import { readTargetRoles, uncoveredRoleArn } from './target-roles'
import type { TargetOptions } from './target'

/** Why a mapping file cannot be read, and what to give instead. */
export function unreadable (file: string, e: NodeJS.ErrnoException): string {
  // An unquoted glob that matched nothing reaches us as written (`mappings/*.yaml`): say so rather than "no such file".
  if (e.code === 'ENOENT' && /[*?[]/.test(file)) return `Cannot read ${file}: no file matches this pattern (is the directory empty, or the path wrong?).`
  if (e.code === 'ENOENT') return `Cannot read ${file}: no such file.`
  if (e.code === 'EISDIR') return `Cannot read ${file}: it is a directory; give its files (${file.replace(/\/+$/, '')}/*.yaml).`
  return `Cannot read ${file}: ${e.code ?? e.message}`
}

export async function readMappingFiles (files: readonly string[]): Promise<MappingFiles> {
  const inputs = files.map(file => {
    try { return { file, text: readFileSync(file, 'utf8') } }
    catch (e) { throw new CliError(unreadable(file, e as NodeJS.ErrnoException)) }
  })
  // The YAML parser loads here, for the commands that read mapping files.
  const { parseMappingFiles } = await import('./mapping-file')
  return parseMappingFiles(inputs)
}

/** Prints every problem (stderr, or as JSON) and fails: nothing is written when a file has any. */
export function reportProblems (parsed: MappingFiles, json: boolean, writes: boolean): never {
  if (json) printJson({ valid: false, problems: parsed.problems.map(p => ({ ...p, text: formatProblem(p) })) })
  for (const p of parsed.problems) say(formatProblem(p))
  throw new CliError(`${parsed.problems.length} problem(s) found${writes ? '; nothing was written' : ''}. Fix the file(s) and re-run.`)
}

/**
 * Mappings whose scope begins with no issuer the target's broker trusts can never match (localhost for 127.0.0.1, a
 * mistyped host): advice, when the issuers are known (trustedIssuers: $BROKER_ISSUERS, else with --local the local issuer).
 */
export function untrustedScopeWarnings (mappings: readonly FileMapping[], issuers: readonly string[]): FileProblem[] {
  return mappings.flatMap(m => {
    const message = untrustedScope(m.mapping.scope, issuers)
    return message ? [{ file: m.file, line: m.line, col: m.col, path: ['mappings', m.index, 'scope'], message }] : []
  })
}

/** For a deployed target: mappings whose roleArn app.arc's target-roles do not cover (`mappings put` warns with it too). */
export function uncoveredRoleWarnings (mappings: readonly FileMapping[], opts: TargetOptions): FileProblem[] {
  if (opts.local) return []
  const targetRoles = readTargetRoles()
  return mappings.flatMap(m => {
    const message = uncoveredRoleArn(m.mapping.roleArn, targetRoles)
    return message ? [{ file: m.file, line: m.line, col: m.col, path: ['mappings', m.index, 'roleArn'], message }] : []
  })
}

/** Why a scope can never match, when no known trusted issuer begins it (`mappings put` warns with it too). */
export function untrustedScope (scope: string, issuers: readonly string[]): string | undefined {
  if (issuers.length === 0) return undefined
  const base = parseScope(scope)?.base ?? scope
  if (issuers.some(issuer => base === issuer || base.startsWith(`${issuer}/`))) return undefined
  return `no issuer this broker trusts (${issuers.join(', ')}) begins this scope, so it can never match`
}

/** Advice never stops a write; it goes to stderr, so `--json` output stays machine-readable. */
export function reportWarnings (parsed: MappingFiles): void {
  for (const w of parsed.warnings) say(err.dim(`warning: ${formatProblem(w)}`))
}

async function validate (files: string[], opts: { json?: boolean }): Promise<void> {
  const parsed = await readMappingFiles(files)
  if (parsed.problems.length) reportProblems(parsed, Boolean(opts.json), false)
  reportWarnings(parsed)
  if (opts.json) printJson({ valid: true, mappings: parsed.mappings.length, problems: [], warnings: parsed.warnings.map(w => ({ ...w, text: formatProblem(w) })) })
  else print(`${parsed.mappings.length} mapping${parsed.mappings.length === 1 ? '' : 's'} valid`)
}

/** Writes one step, conditional on what was read at plan time (create: still absent; update/delete: same updatedAt). */
async function applyStep (admin: MappingAdmin, step: PlanStep, actor: string, now: Date): Promise<void> {
  switch (step.action) {
    case 'create': return admin.put(stamp(step.mapping, actor, now), undefined)
    case 'update': return admin.put(stamp(step.mapping, actor, now), expectedVersion(step.stored))
    case 'delete': {
      const deleted = await admin.delete(step.scope, step.role, expectedVersion(step.stored))
      if (!deleted) throw new MappingConflict(step.scope, step.role)
      return
    }
    case 'unchanged': return
  }
}

/** Writes a plan's steps in order, each conditional on the state the plan was made from; stops at the first conflict. */
export async function executePlan (admin: MappingAdmin, plan: Plan, actor: string, now: Date = new Date()): Promise<number> {
  const todo = plan.steps.filter(s => s.action !== 'unchanged')
  let done = 0
  for (const step of todo) {
    try { await applyStep(admin, step, actor, now) }
    catch (e) {
      if (e instanceof MappingConflict) throw new ApplyConflict(e, done, todo.length)
      throw e
    }
    done++
  }
  return done
}

interface ApplyOptions extends TargetOptions { dryRun?: boolean; detailedExitcode?: boolean; prune?: boolean; json?: boolean; actor?: string; yes?: boolean; impact?: string }

export async function applyFiles (files: string[], opts: ApplyOptions): Promise<void> {
  const json = Boolean(opts.json)
  if (opts.detailedExitcode && !opts.dryRun) throw new CliError('--detailed-exitcode goes with --dry-run (exit 2 when the plan has changes): add --dry-run.')
  if (opts.impact !== undefined && !opts.dryRun) throw new CliError('--impact goes with --dry-run (it replays the audit trail; nothing is written): add --dry-run.')
  const read = await readMappingFiles(files)
  if (read.problems.length) reportProblems(read, json, true)
  const parsed = { ...read, warnings: [...read.warnings, ...untrustedScopeWarnings(read.mappings, trustedIssuers(opts)), ...uncoveredRoleWarnings(read.mappings, opts)] }
  reportWarnings(parsed)
  const actor = resolveActor(opts.actor)
  await withTarget(opts, async target => {
    const admin = await mappingAdmin(target)
    const stored = await admin.list()
    const plan: Plan = computePlan(parsed.mappings.map(m => m.mapping), stored, { prune: Boolean(opts.prune) })
    if (!json) {
      say(err.dim(`Target: ${target.label}, table ${target.tables.mappings}`))
      for (const line of renderPlan(plan, out)) print(line)
    }
    const impact = opts.impact === undefined ? undefined : await previewImpact(target, stored, plan, opts.impact, json)
    const warnings = parsed.warnings.map(w => ({ ...w, text: formatProblem(w) }))
    // The one --prune that is never meant: files with no mappings at all (an empty file, the wrong file) would empty
    // the table, this pipeline's own access included. A dry run fails too (after its plan), so a merge request's plan
    // job fails where the apply after the merge would.
    if (opts.prune && parsed.mappings.length === 0 && plan.counts.delete > 0) {
      throw new CliError(`Refusing to --prune with files that hold no mappings: that would delete all ${plan.counts.delete} stored mapping(s) ` +
        'in ' + target.label + `${opts.dryRun ? ', so apply would refuse this too' : ''}. ` +
        'Delete them one by one (`tanuki-sts mappings delete`) if that is really what you want.')
    }
    if (opts.dryRun || !hasChanges(plan)) {
      if (json) printJson({ ...planJson(plan), warnings, applied: false, dryRun: Boolean(opts.dryRun), ...(impact && { impact }) })
      else say(opts.dryRun ? 'Dry run: nothing was written.' : 'Nothing to do.')
      if (opts.detailedExitcode && hasChanges(plan)) process.exitCode = EXIT_CHANGES
      return
    }
    // Deleting revokes access, so at a terminal it is confirmed (on stderr, with --json too), as `mappings delete`
    // confirms; a pipeline (no terminal) applies what its plan shows, as it always has.
    if (plan.counts.delete > 0 && !opts.yes && process.stdin.isTTY &&
      !await confirm(`Delete ${plan.counts.delete} mapping(s) from ${target.label}, as planned above? [y/N] `)) {
      throw new CliError('Nothing was written.')
    }
    let done: number
    try { done = await executePlan(admin, plan, actor) }
    catch (e) {
      if (!(e instanceof ApplyConflict)) throw e
      if (json) printJson({ ...planJson(plan), warnings, applied: false, appliedSteps: e.done, conflict: { scope: e.conflict.scope, role: e.conflict.role, message: e.conflict.message } })
      throw new CliError(e.message, EXIT_CONFLICT)
    }
    if (json) printJson({ ...planJson(plan), warnings, applied: true, appliedSteps: done })
    else say(err.green(`Applied ${done} change(s) to ${target.label}.`))
  })
}

export function registerApply (mappings: Command): void {
  mappings.command('validate')
    .description('check mapping files (schema and meaning) without touching any table; exit 1 on any problem')
    .argument('<file...>', 'mapping files (YAML with a `mappings:` list)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ tanuki-sts mappings validate mappings/*.yaml\n  mappings/payments.yaml:12:7: mappings[2].conditions.reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?')
    .action(validate)

  addTargetOptions(mappings.command('apply')
    .description('make the table match mapping files: validate, print the plan, then write it (conditional writes)')
    .argument('<file...>', 'mapping files (YAML with a `mappings:` list)')
    .option('--dry-run', 'print the plan and stop; nothing is written')
    .option('--detailed-exitcode', 'with --dry-run: exit 2 when the plan has changes, 0 when it has none (as terraform plan)')
    .option('--prune', 'also delete stored mappings that no file mentions')
    .option('--impact <period>', 'with --dry-run: replay the audit records of this period (30d, 7d, or since an ISO date) against the stored mappings and the plan, and list every decision that would flip')
    .option('--actor <name>', 'recorded as updatedBy (default: $GITLAB_USER_LOGIN, else the OS user)')
    .option('--yes', 'do not ask before deleting (asked only on a terminal)')
    .option('--json', 'print the plan and outcome as JSON'))
    .addHelpText('after', '\nExamples:\n  $ tanuki-sts mappings apply docs/examples/mappings.yaml --local --dry-run\n' +
      '  $ tanuki-sts mappings apply mappings/*.yaml --dry-run --impact 30d --region us-east-1 --env production\n' +
      '  $ tanuki-sts mappings apply mappings/*.yaml --prune --region us-east-1 --env production')
    .action(applyFiles)
}
