// Edit (editors only): a mapping as a mapping file, checked by the CLI's own parser and warnings (mapping-file.ts),
// planned against the table as `mappings apply` plans (plan.ts), with its impact on the last 30 days of requests
// (edit-impact.ts), then written conditionally on the version the editor saw, as the signed-in GitLab login, with the
// change recorded in the audit table first.
import { randomUUID } from 'node:crypto'
import { recordMappingChange, settleMappingChange } from '../../broker/audit'
import { MappingConflict, MappingInvalid } from '../../broker/errors'
import type { StoredEntry } from '../../broker/mappings'
import type { Mapping } from '../../broker/mapping'
import { untrustedScope } from '../../cli/apply'
import { fileForm, parseMappingFile, toYaml } from '../../cli/mapping-file'
import { formatPath } from '../../cli/problems'
import type { FileProblem } from '../../cli/problems'
import { paint } from '../../cli/output'
import { computePlan, renderPlan } from '../../cli/plan'
import type { Plan } from '../../cli/plan'
import { expectedVersion, stamp } from '../../cli/stamp'
import { PageError } from '../app'
import type { PageContext } from '../app'
import { consoleHref, html } from '../html'
import type { Html } from '../html'
import { layout } from '../layout'
import { field } from '../request'
import { page, redirect } from '../respond'
import type { ConsoleResponse } from '../respond'
import { mappingHref } from './common'
import { impactBlock } from './edit-impact'
import { mappingKey } from './mapping'

/** A mapping file of one mapping is a few hundred bytes; a session policy makes it a few KiB. */
const MAX_YAML = 64 * 1024

/**
 * The version a write expects, as the forms carry it: `new` (must not exist yet), `unversioned` (exists, without an
 * updatedAt), or `v:<updatedAt>`. The one conditional write (mappings.ts's put) refuses anything else that changed.
 */
type Expected = { updatedAt?: string } | undefined
const versionText = (stored: StoredEntry | undefined): string => {
  if (!stored) return 'new'
  const v = expectedVersion(stored)
  return v.updatedAt === undefined ? 'unversioned' : `v:${v.updatedAt}`
}
function readVersion (text: string | undefined): Expected {
  if (text === 'new') return undefined
  if (text === 'unversioned') return {}
  if (text?.startsWith('v:') && text.length > 2 && text.length <= 66) return { updatedAt: text.slice(2) }
  throw new PageError(400, 'bad_request', 'The form does not say which version of the mapping it was made from; open the mapping again.')
}

function template (issuer: string): string {
  return toYaml({
    mappings: [{
      scope: `${issuer}/group/project`, role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/gitlab-deploy',
      pin: { project_id: '1234' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'what this mapping is for',
    }],
  })
}

function problemItems (problems: readonly FileProblem[]): Html {
  return html`<ul>${problems.map(p => html`<li>Line ${p.line}, column ${p.col}: ${formatPath(p.path) ? html`<code>${formatPath(p.path)}</code>: ` : ''}${p.message}</li>`)}</ul>`
}

function editForm (ctx: PageContext, o: { yaml: string; expected: string; opened?: { scope: string; role: string }; problems?: readonly FileProblem[] }): Html {
  const opened = o.opened
  return html`${o.problems?.length ? html`<div class="danger" role="alert"><p><strong>${o.problems.length} problem${o.problems.length === 1 ? '' : 's'}</strong>; nothing was planned or written:</p>${problemItems(o.problems)}</div>` : ''}
<form method="post" action="/console/mappings/plan" class="stacked">
<input type="hidden" name="csrf" value="${ctx.session.csrf}">
<input type="hidden" name="expected" value="${o.expected}">
${opened ? html`<input type="hidden" name="scope" value="${opened.scope}"><input type="hidden" name="role" value="${opened.role}">` : ''}
<label for="yaml">The mapping, as a mapping file: the same format and checks as <code>tanuki-sts mappings apply</code>.
Leave out updatedAt and updatedBy: the console sets them (updatedBy is your GitLab login).</label>
<textarea id="yaml" name="yaml" rows="22" spellcheck="false" autocomplete="off">${o.yaml}</textarea>
<div><button type="submit">Show the plan</button> ${opened ? html`<a href="${mappingHref(opened.scope, opened.role)}">Cancel</a>` : html`<a href="/console/mappings">Cancel</a>`}</div>
</form>`
}

export async function editPage (ctx: PageContext): Promise<ConsoleResponse> {
  const { scope, role } = mappingKey(ctx.req.query)
  const entry = await ctx.deps.admin.read(scope, role)
  if (!entry) throw new PageError(404, 'not_found', `There is no mapping for the role "${role}" at ${scope}; create it from the mappings page.`)
  const mapping = entry.mapping
  const yaml = toYaml({ mappings: [mapping instanceof MappingInvalid ? entry.item : fileForm(mapping)] })
  const body = editForm(ctx, { yaml, expected: versionText(entry), opened: { scope, role } })
  return page(200, layout({ title: `Edit mapping: ${role}`, section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

export async function newPage (ctx: PageContext): Promise<ConsoleResponse> {
  const body = editForm(ctx, { yaml: template(ctx.deps.config.issuer), expected: 'new' })
  return page(200, layout({ title: 'New mapping', section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

interface Checked { mapping: Mapping; warnings: FileProblem[]; yaml: string }

/** The form's YAML through the CLI's parser: one mapping, no problems; else the form again, with every problem. */
function checkYaml (ctx: PageContext): Checked | ConsoleResponse {
  const yaml = field(ctx.req.form, 'yaml', MAX_YAML) ?? ''
  const parsed = parseMappingFile(yaml, 'mapping')
  let problems = parsed.problems
  if (problems.length === 0 && parsed.mappings.length !== 1) {
    problems = [{ file: 'mapping', line: 1, col: 1, path: ['mappings'], message: `lists ${parsed.mappings.length} mappings: the console edits one at a time (tanuki-sts mappings apply takes files of many)` }]
  }
  if (problems.length > 0) {
    const scope = field(ctx.req.form, 'scope', 2048)
    const role = field(ctx.req.form, 'role', 64)
    const body = editForm(ctx, { yaml, expected: field(ctx.req.form, 'expected', 80) ?? 'new', problems, ...(scope && role && { opened: { scope, role } }) })
    return page(400, layout({ title: 'Edit mapping', section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
  }
  const mapping = parsed.mappings[0].mapping
  const untrusted = untrustedScope(mapping.scope, ctx.deps.config.broker.issuers)
  const warnings = [...parsed.warnings, ...(untrusted ? [{ file: 'mapping', line: parsed.mappings[0].line, col: parsed.mappings[0].col, path: ['mappings', 0, 'scope'], message: untrusted }] : [])]
  return { mapping, warnings, yaml }
}

/** The plan's lines as `mappings apply` prints them (uncoloured), marked up by what each line does. */
function planBlock (plan: Plan): Html {
  const lines = renderPlan(plan, paint(false), { summary: true })
  const kind = (line: string) => /^\s*\+/.test(line) ? 'add' : /^\s*-/.test(line) ? 'del' : /^~/.test(line) ? 'mod' : ''
  return html`<pre class="plan" aria-label="Plan">${lines.map(l => html`<span class="${kind(l)}">${l}</span>\n`)}</pre>`
}

function conflictPage (ctx: PageContext, scope: string, role: string, current: StoredEntry | undefined, when: string): ConsoleResponse {
  const by = current && typeof current.item.updatedBy === 'string' ? ` (last by ${current.item.updatedBy}${typeof current.item.updatedAt === 'string' ? `, ${current.item.updatedAt}` : ''})` : ''
  const body = html`<p class="danger" role="alert"><strong>Refused:</strong> the mapping for the role "${role}" at ${scope} was changed by someone else ${when}${by}. Nothing was written.</p>
<p>${current ? html`<a href="${consoleHref('/console/mappings/edit', { scope, role })}">Open it again</a> to edit what it says now.` : html`It no longer exists; <a href="/console/mappings/new">create it again</a> if you mean to.`}</p>`
  return page(409, layout({ title: 'Changed meanwhile', section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

export async function planPost (ctx: PageContext): Promise<ConsoleResponse> {
  const checked = checkYaml(ctx)
  if ('statusCode' in checked) return checked
  const { mapping, warnings, yaml } = checked
  const openedScope = field(ctx.req.form, 'scope', 2048)
  const openedRole = field(ctx.req.form, 'role', 64)
  const current = await ctx.deps.admin.read(mapping.scope, mapping.role)
  const sameKey = openedScope === mapping.scope && openedRole === mapping.role
  // Editing what was opened: it must still be what the editor saw. A new key: planned against what is there now.
  const expected = sameKey || !openedScope ? field(ctx.req.form, 'expected', 80) ?? 'new' : versionText(current)
  if (versionText(current) !== expected) return conflictPage(ctx, mapping.scope, mapping.role, current, 'since you opened it')
  const plan = computePlan([mapping], current ? [current] : [], { prune: false })
  const unchanged = plan.counts.unchanged === 1
  const moved = openedScope && openedRole && !sameKey
    ? html`<p class="notice">This plans the mapping for the role "${mapping.role}" at ${mapping.scope}; the one you opened (${openedRole} at ${openedScope}) stays as it is.</p>` : ''
  const body = html`${moved}
${warnings.length ? html`<div class="notice"><p><strong>Warnings</strong> (as <code>tanuki-sts mappings apply</code> gives them; they do not stop the write):</p>${problemItems(warnings)}</div>` : ''}
<h2>Plan</h2>${planBlock(plan)}
${unchanged ? '' : await impactBlock(ctx, mapping, plan)}
${unchanged ? html`<p>The table already says this: there is nothing to save. <a href="${mappingHref(mapping.scope, mapping.role)}">Back to the mapping</a></p>` : html`
<form method="post" action="/console/mappings/save" class="stacked">
<input type="hidden" name="csrf" value="${ctx.session.csrf}">
<input type="hidden" name="expected" value="${expected}">
<input type="hidden" name="yaml" value="${yaml}">
<p>Saving writes this plan only if the mapping is still as planned against (a conditional write), with updatedBy <strong>${ctx.session.user.login}</strong>, and records the change in the audit.</p>
<div><button type="submit">Save</button> <a href="${mappingHref(mapping.scope, mapping.role)}">Cancel</a></div>
</form>`}`
  return page(200, layout({ title: `Plan: ${mapping.role} at ${mapping.scope}`, section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

export async function savePost (ctx: PageContext): Promise<ConsoleResponse> {
  const checked = checkYaml(ctx)
  if ('statusCode' in checked) return checked
  const { mapping } = checked
  const expected = readVersion(field(ctx.req.form, 'expected', 80))
  const { deps, session, now } = ctx
  // Read for the change record only: whether the write happens is the conditional write's to decide, never this read's.
  const current = await deps.admin.read(mapping.scope, mapping.role)
  const plan = computePlan([mapping], current ? [current] : [], { prune: false })
  const step = plan.steps[0]
  if (step.action === 'unchanged' || step.action === 'delete') return redirect(mappingHref(mapping.scope, mapping.role), deps.config.deployed, undefined, 303)
  // The audit record first: a change that cannot be recorded is not made.
  const at = now.toISOString()
  const key = { pk: `mapping#${mapping.scope}#${mapping.role}`, sk: `change#${at}#${ctx.req.requestId}` }
  await recordMappingChange(deps.db, deps.tables.audit, {
    ...key, kind: 'mapping-change', at, requestId: ctx.req.requestId || randomUUID(), outcome: 'requested', action: step.action,
    scope: mapping.scope, role: mapping.role, actor: session.user.login, actorId: session.user.sub, changes: JSON.stringify(step.changes),
    expiresAt: Math.floor(now.getTime() / 1000) + deps.config.broker.auditRetentionDays * 86400,
  })
  try {
    await deps.admin.put(stamp(mapping, session.user.login, now), expected)
  }
  catch (err) {
    if (!(err instanceof MappingConflict)) throw err
    await settleMappingChange(deps.db, deps.tables.audit, key, 'conflict')
    deps.log('info', 'console mapping change refused: changed meanwhile', { requestId: ctx.req.requestId, login: session.user.login, scope: mapping.scope, role: mapping.role })
    return conflictPage(ctx, mapping.scope, mapping.role, await deps.admin.read(mapping.scope, mapping.role), 'since you planned')
  }
  await settleMappingChange(deps.db, deps.tables.audit, key, 'changed')
  deps.log('info', 'console mapping changed', { requestId: ctx.req.requestId, login: session.user.login, action: step.action, scope: mapping.scope, role: mapping.role })
  return redirect(consoleHref('/console/mapping', { scope: mapping.scope, role: mapping.role, saved: '1' }), deps.config.deployed, undefined, 303)
}

