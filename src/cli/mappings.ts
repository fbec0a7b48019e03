// `mappings list | get | put | delete` (and, from apply.ts, `validate | apply`; from plan-files.ts, `plan`): one mapping at a time, by hand.
// Parsing is parseMapping's (via put-flags.ts), conditional writes are createMappingAdmin's (target.ts mappingAdmin).
import type { Command } from 'commander'
import { isGitLabPath } from '../broker/claims'
import { projectCoverage } from '../broker/coverage'
import { CliError, MappingInvalid, PutFlagsInvalid } from '../broker/errors'
import type { Mapping } from '../broker/mapping'
import { mappingWarnings } from '../broker/mapping-warnings'
import type { StoredEntry } from '../broker/mappings'
import { SCOPE_FORM, candidateScopes, parseScope } from '../broker/scope'
import { registerApply, untrustedScope } from './apply'
import { projectKey } from './audit'
import { trustedIssuers } from './local-info'
import { confirm, err, out, print, printJson, progress, readableTime, renderTable, say } from './output'
import type { Paint } from './output'
import { computePlan, renderPlan } from './plan'
import { registerPlanFiles } from './plan-files'
import { formatPath } from './problems'
import { flagWarning, mappingFromFlags } from './put-flags'
import type { PutFlags } from './put-flags'
import { expectedVersion, resolveActor, stamp } from './stamp'
import { addTargetOptions, mappingAdmin, targetFlags, withTarget } from './target'
import { readTargetRoles, uncoveredRoleArn } from './target-roles'
import type { Target, TargetOptions } from './target'

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** A stored entry for --json: the mapping's fields, or why it is invalid and the item as stored. */
export function entryJson (entry: StoredEntry): Record<string, unknown> {
  if (entry.mapping instanceof MappingInvalid) {
    return { scope: entry.scope, role: entry.role, valid: false, problems: entry.mapping.problems.map(p => ({ path: formatPath(p.path), message: p.message })), item: entry.item }
  }
  return { valid: true, ...entry.mapping }
}

function pinText (mapping: Mapping): string {
  return mapping.pin === 'none' ? 'none' : Object.entries(mapping.pin).map(([k, v]) => `${k}=${v}`).join('')
}

function conditionsText (mapping: Mapping, p: Paint): string {
  const lines = Object.entries(mapping.conditions).map(([claim, patterns]) => `${claim}=${patterns.join('|')}`)
  if (!('ref_protected' in mapping.conditions)) lines.push(p.dim('ref_protected=true (default)'))
  if (mapping.maxUses !== undefined) lines.push(p.dim(`maxUses=${mapping.maxUses}`))
  if (mapping.maxTokenAge !== undefined) lines.push(p.dim(`maxTokenAge=${mapping.maxTokenAge}s`))
  return lines.join('\n')
}

function updatedText (item: Record<string, unknown>): string {
  const at = typeof item.updatedAt === 'string' ? readableTime(item.updatedAt, 'minute') : ''
  return [at, typeof item.updatedBy === 'string' ? `by ${item.updatedBy}` : ''].filter(Boolean).join(' ')
}

type ListOptions = TargetOptions & { scope?: string; role?: string; project?: string; issuer?: string; json?: boolean }

/**
 * `--project`: the scopes that may hold a mapping for it, most specific first (the broker's candidateScopes). Its URL
 * is split at the longest issuer the broker is known to trust, else at its origin.
 */
function projectCandidates (opts: ListOptions): { url: string; candidates: string[] } {
  const project = opts.project ?? ''
  if (project.includes('*')) throw new CliError(`--project "${project}" names one project; for the mappings of a group scope, use --scope URL/* or --scope URL/**.`)
  const issuers = trustedIssuers(opts, process.env).map(i => i.replace(/\/+$/, ''))
  let url: URL
  try { url = new URL(projectKey(project, issuers.length === 1 ? issuers[0] : undefined)) }
  catch (e) { throw e instanceof CliError ? e : new CliError(`--project "${project}" is neither a project URL nor a GitLab project path.`) }
  if (url.username || url.password || url.search || url.hash) throw new CliError(`--project "${project}": give the project's URL alone (no user, query or fragment).`)
  const href = `${url.origin}${url.pathname}`.replace(/\/+$/, '')
  let issuer = [...issuers].sort((a, b) => b.length - a.length).find(i => href.startsWith(`${i}/`))
  if (!issuer && issuers.length > 0) {
    throw new CliError(`--project ${href} is on none of the issuers the broker trusts (${issuers.join(', ')}): no mapping can grant it anything.`)
  }
  if (!issuer) {
    issuer = url.origin
    say(err.dim(`The broker's issuers are not known here: taking ${issuer} as the project's GitLab (pass --issuer if its URL has a path, such as https://host/gitlab).`))
  }
  const path = href.slice(issuer.length + 1)
  if (!isGitLabPath(path)) throw new CliError(`--project "${project}" is not a project URL on ${issuer}.`)
  return { url: href, candidates: candidateScopes(issuer, path) }
}

async function list (opts: ListOptions): Promise<void> {
  const project = opts.project === undefined ? undefined : projectCandidates(opts)
  await withTarget(opts, async target => {
    const note = progress()
    note.update(`reading ${target.tables.mappings}…`)
    const admin = await mappingAdmin(target)
    const all = await admin.list()
    note.done()
    let entries = all.filter(e => (!opts.scope || e.scope === opts.scope) && (!opts.role || e.role === opts.role))
    if (project) {
      // Per role, the broker's decidingScope over every covering mapping (so --scope narrows what is shown, never who decides).
      const { covering, deciders: decider } = projectCoverage(all, project.candidates)
      const shown = new Set(entries)
      entries = covering.filter(e => shown.has(e))
      if (opts.json) return printJson(entries.map(e => ({ ...entryJson(e), decides: decider.get(e.role) === e.scope })))
      if (entries.length === 0) {
        const filter = opts.scope ? ` at --scope ${opts.scope}` : ''
        say(`No mapping${opts.role ? ` for the role "${opts.role}"` : ''}${filter} covers ${project.url} in ${target.label}. Its candidate scopes (exact, case included): ${project.candidates.join(', ')}.`)
        return
      }
      say(err.dim(`Mappings that cover ${project.url}; for each role, the most specific one decides alone (no fallback):`))
      print(renderTable(['ROLE', 'SCOPE', 'ROLE ARN', 'PIN', 'CONDITIONS', 'FOR THIS PROJECT'], entries.map(e => {
        const decides = decider.get(e.role) === e.scope
        const verdict = !decides ? out.dim(`shadowed by ${decider.get(e.role) ?? ''}`)
          : e.mapping instanceof MappingInvalid ? out.red('decides: invalid, grants nothing')
            : e.mapping.enabled ? out.green('decides') : out.yellow('decides: disabled, grants nothing')
        if (e.mapping instanceof MappingInvalid) return [e.role, e.scope, String(e.item.roleArn ?? ''), '', '', verdict]
        return [e.role, e.scope, e.mapping.roleArn, pinText(e.mapping), conditionsText(e.mapping, out), verdict]
      }), out.bold))
      return
    }
    if (opts.json) return printJson(entries.map(entryJson))
    if (entries.length === 0) {
      // `--scope acme/payments/api`: a scope is a URL, and a path never matches one.
      const hint = opts.scope && !parseScope(opts.scope) ? ` --scope takes a whole scope: ${SCOPE_FORM}.` : ''
      say(`No mappings${opts.scope || opts.role ? ' match' : ''} in ${target.label}.${hint}`)
      return
    }
    const rows = entries.map(e => {
      const m = e.mapping
      if (m instanceof MappingInvalid) {
        const item = e.item
        return [e.scope, e.role, `${String(item.roleArn ?? '')}\n${out.red('✗ invalid (grants nothing)')}`, '', '', updatedText(item)]
      }
      return [m.scope, m.enabled ? m.role : `${m.role} ${out.yellow('(disabled)')}`, m.roleArn, pinText(m), conditionsText(m, out), updatedText(e.item)]
    })
    print(renderTable(['SCOPE', 'ROLE', 'ROLE ARN', 'PIN', 'CONDITIONS', 'UPDATED'], rows, out.bold))
    const invalid = entries.filter(e => e.mapping instanceof MappingInvalid)
    if (invalid.length) {
      print()
      print(out.red(`${invalid.length} invalid mapping(s): the broker denies every request they decide. Fix them with \`mappings put\` or \`mappings apply\`.`))
      for (const e of invalid) {
        for (const p of (e.mapping as MappingInvalid).problems) print(`  ${e.scope} ${e.role}: ${p.path.length ? formatPath(p.path) + ': ' : ''}${p.message}`)
      }
    }
  })
}

async function readEntry (target: Target, opts: TargetOptions, scope: string, role: string): Promise<StoredEntry> {
  const admin = await mappingAdmin(target)
  const entry = await admin.read(scope, role)
  // Scopes are URLs: for `acme/payments/api`, say that rather than only "no mapping". (A stored item whose scope does
  // not parse is still found by its exact text, so it can be shown and deleted.)
  if (!entry && !parseScope(scope)) {
    throw new CliError(`No mapping for "${scope}": a scope is ${SCOPE_FORM}.`)
  }
  if (!entry) throw new CliError(`No mapping for ${scope} role "${role}" in ${target.label}. (\`tanuki-sts mappings list ${targetFlags(opts)}\` shows what there is.)`)
  return entry
}

async function get (scope: string, role: string, opts: TargetOptions & { json?: boolean }): Promise<void> {
  await withTarget(opts, async target => {
    const entry = await readEntry(target, opts, scope, role)
    if (opts.json) return printJson(entryJson(entry))
    // The mapping-file writer (and the YAML library with it) loads here, not for --help.
    const { fileForm, toYaml } = await import('./mapping-file')
    const updated = updatedText(entry.item)
    if (entry.mapping instanceof MappingInvalid) {
      print(out.red(`# INVALID: the broker denies every request this mapping decides.`))
      for (const p of entry.mapping.problems) print(out.red(`#   ${p.path.length ? formatPath(p.path) + ': ' : ''}${p.message}`))
      print(toYaml({ mappings: [entry.item] }))
      return
    }
    if (updated) print(out.dim(`# updated ${updated}`))
    print(toYaml({ mappings: [fileForm(entry.mapping)] }))
  })
}

async function put (opts: TargetOptions & PutFlags & { actor?: string }): Promise<void> {
  let mapping: Mapping
  try { mapping = mappingFromFlags(opts) }
  catch (e) {
    if (!(e instanceof PutFlagsInvalid)) throw e
    for (const line of e.problems) say(line)
    throw new CliError(`${e.problems.length} problem(s) found; nothing was written.`)
  }
  // The advice validate and apply give for a file, here for the flags (it does not stop the write).
  for (const w of mappingWarnings(mapping)) say(err.dim(`warning: ${flagWarning(w)}`))
  // As apply warns for a file: a scope on no issuer the target's broker trusts (localhost for 127.0.0.1) never matches.
  const untrusted = untrustedScope(mapping.scope, trustedIssuers(opts))
  if (untrusted) say(err.dim(`warning: --scope: ${untrusted}`))
  // A deployed broker may assume only app.arc's target roles (sandbox's local STS assumes any).
  const uncovered = opts.local ? undefined : uncoveredRoleArn(mapping.roleArn, readTargetRoles())
  if (uncovered) say(err.dim(`warning: --role-arn: ${uncovered}`))
  const actor = resolveActor(opts.actor)
  await withTarget(opts, async target => {
    const admin = await mappingAdmin(target)
    const current = await admin.read(mapping.scope, mapping.role)
    const plan = computePlan([mapping], current ? [current] : [], { prune: false })
    const step = plan.steps[0]
    if (step.action === 'unchanged') {
      say(`Unchanged: ${mapping.scope} role "${mapping.role}" already says this in ${target.label}; nothing was written.`)
      return
    }
    // Conditional: create only if still absent, replace only if its updatedAt is what was just read.
    await admin.put(stamp(mapping, actor), current ? expectedVersion(current) : undefined)
    for (const line of renderPlan(plan, out, { summary: false })) print(line)
    say(err.green(`${current ? 'Updated' : 'Created'} in ${target.label}.`))
  })
}

async function remove (scope: string, role: string, opts: TargetOptions & { yes?: boolean }): Promise<void> {
  if (!opts.yes && !process.stdin.isTTY) {
    throw new CliError(`Not deleting ${scope} role "${role}": there is no terminal to confirm on. Re-run with --yes to delete it.`)
  }
  await withTarget(opts, async target => {
    const entry = await readEntry(target, opts, scope, role)
    const arn = typeof entry.item.roleArn === 'string' ? ` (${entry.item.roleArn})` : ''
    if (!opts.yes && !await confirm(`Delete the mapping ${scope} role "${role}"${arn} from ${target.label}? [y/N] `)) {
      throw new CliError('Not deleted.')
    }
    // Conditional on what was shown: if someone changed it meanwhile, MappingConflict and nothing is deleted.
    const admin = await mappingAdmin(target)
    await admin.delete(scope, role, expectedVersion(entry))
    say(err.green(`Deleted ${scope} role "${role}" from ${target.label}.`))
  })
}

export function registerMappings (program: Command): void {
  const mappings = program.command('mappings').description('read and write the mappings table (who may use which role)')
    .addHelpText('after', '\nExample:\n  $ tanuki-sts mappings list --local')

  addTargetOptions(mappings.command('list')
    .description('list mappings (invalid ones are shown with their problems)')
    .option('--scope <scope>', 'only this scope (exact)')
    .option('--role <role>', 'only this role')
    .option('--project <path-or-url>', 'only the mappings that cover this project, each role\'s deciding one marked (a path needs the issuer)')
    .option('--issuer <url>', 'the GitLab a --project path belongs to (default: the single $BROKER_ISSUERS entry, or the local issuer)')
    .option('--json', 'print JSON'))
    .addHelpText('after', '\nExamples:\n  $ tanuki-sts mappings list --role deploy --region us-east-1 --env production\n' +
      '  $ tanuki-sts mappings list --project https://gitlab.com/acme/payments/api --region us-east-1 --env production')
    .action(list)

  addTargetOptions(mappings.command('get')
    .description('print one mapping as a mapping file (YAML) or JSON')
    .argument('<scope>', 'project URL, or group URL + /* or /**')
    .argument('<role>', 'role name')
    .option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  $ tanuki-sts mappings get https://gitlab.com/acme/payments/api deploy --local')
    .action(get)

  addTargetOptions(mappings.command('put')
    .description('create or replace one mapping: the flags are the whole mapping, so a field left out is removed ' +
      '(a conditional write: fails if someone changed it since it was read)')
    .requiredOption('--scope <scope>', 'project URL, or group URL + /* (its projects) or /** (every project below)')
    .requiredOption('--role <role>', 'the role name jobs ask for')
    .requiredOption('--role-arn <arn>', 'the IAM role the broker assumes')
    .option('--pin <pin>', 'required: project_id=N (project scope), namespace_id=N (/* scope) or none')
    .option('--condition <claim=pattern>', 'a claim condition; repeat it, or the same claim for a list (any of)', collect)
    .option('--max-duration <seconds>', 'longest session, 900..3600')
    .option('--max-uses <n>', 'issuances per ID token')
    .option('--max-token-age <seconds>', 'refuse tokens older than this')
    .option('--session-policy <file>', 'a JSON IAM policy to scope sessions down')
    .option('--session-tag <claim>', 'a claim copied to a session tag (repeatable; replaces the defaults)', collect)
    .option('--description <text>', 'what this mapping is for')
    .option('--disabled', 'store it disabled (it grants nothing)')
    .option('--actor <name>', 'recorded as updatedBy (default: $GITLAB_USER_LOGIN, else the OS user)'))
    .addHelpText('after', '\nExample:\n  $ tanuki-sts mappings put --local --scope https://gitlab.com/acme/payments/api --role deploy \\\n' +
      '      --role-arn arn:aws:iam::111122223333:role/payments-deploy --pin project_id=4301877 \\\n' +
      '      --condition ref=main --condition ref_type=branch --condition environment=production --condition environment=staging')
    .action(put)

  addTargetOptions(mappings.command('delete')
    .description('delete one mapping (asks first on a terminal)')
    .argument('<scope>', 'project URL, or group URL + /* or /**')
    .argument('<role>', 'role name')
    .option('--yes', 'do not ask (required when not on a terminal)'))
    .addHelpText('after', '\nExample:\n  $ tanuki-sts mappings delete https://gitlab.com/acme/payments/api deploy --local --yes')
    .action(remove)

  registerApply(mappings)
  registerPlanFiles(mappings)
}
