// Mappings: every stored mapping, searchable and filtered by issuer and role, and "what can this project get": per
// role, the mapping that decides for it (coverage.ts, the broker's decidingMapping), the others it shadows, and invalid ones.
import { projectCoverage } from '../../broker/coverage'
import type { StoredEntry } from '../../broker/mappings'
import { MappingInvalid } from '../../broker/errors'
import { parseScope } from '../../broker/scope'
import type { PageContext } from '../app'
import { consoleHref, html } from '../html'
import type { Html } from '../html'
import { layout } from '../layout'
import { parseProject } from '../project'
import type { ProjectRef } from '../project'
import { field } from '../request'
import { page } from '../respond'
import type { ConsoleResponse } from '../respond'
import { conditionsCell, mappingHref, pinCell, roleArnOf, selectField, textField, updatedCell } from './common'

function matches (e: StoredEntry, words: readonly string[], issuer: string | undefined, role: string | undefined): boolean {
  if (role && e.role !== role) return false
  const base = parseScope(e.scope)?.base ?? e.scope
  if (issuer && base !== issuer && !base.startsWith(`${issuer}/`)) return false
  const description = e.mapping instanceof MappingInvalid ? '' : e.mapping.description ?? ''
  const text = `${e.scope} ${e.role} ${roleArnOf(e)} ${description}`.toLowerCase()
  return words.every(w => text.includes(w))
}

function verdictCell (e: StoredEntry, decider: string | undefined): Html {
  if (decider !== e.scope) return html`<span class="muted">shadowed by <a href="${mappingHref(decider ?? '', e.role)}">${decider ?? ''}</a></span>`
  if (e.mapping instanceof MappingInvalid) return html`<strong class="bad">decides: invalid, grants nothing</strong>`
  return e.mapping.enabled ? html`<strong class="ok">decides</strong>` : html`<strong class="warn">decides: disabled, grants nothing</strong>`
}

function coverageSection (project: ProjectRef, all: readonly StoredEntry[]): Html {
  const { covering, deciders } = projectCoverage(all, project.candidates)
  if (covering.length === 0) {
    return html`<section aria-labelledby="coverage"><h2 id="coverage">What ${project.url} can get</h2>
<p class="notice">No mapping covers this project, so it can get no role. Its candidate scopes (exact, case included) are:</p>
<ul>${project.candidates.map(s => html`<li><code>${s}</code></li>`)}</ul></section>`
  }
  const roles = [...new Set(covering.map(e => e.role))]
  const granting = roles.filter(r => { const d = covering.find(e => e.role === r && e.scope === deciders.get(r)); return d && !(d.mapping instanceof MappingInvalid) && d.mapping.enabled })
  return html`<section aria-labelledby="coverage"><h2 id="coverage">What ${project.url} can get</h2>
<p>For each role, the most specific mapping that covers the project decides alone: no merging, and no fallback to a broader one when its conditions fail.
${granting.length ? html`Roles it may get, when the deciding mapping's conditions hold: ${granting.map((r, i) => html`${i ? ', ' : ''}<strong>${r}</strong>`)}.` : html`<strong>No role</strong> is granted by its deciding mappings.`}</p>
<table id="coverage-table"><caption class="muted">Mappings that cover ${project.url}, by role, most specific first</caption>
<thead><tr><th scope="col">Role</th><th scope="col">Scope</th><th scope="col">Role ARN</th><th scope="col">Conditions</th><th scope="col">For this project</th></tr></thead>
<tbody>${covering.map(e => html`<tr><td>${e.role}</td><td><a href="${mappingHref(e.scope, e.role)}">${e.scope}</a></td><td class="mono">${roleArnOf(e)}</td>
<td>${e.mapping instanceof MappingInvalid ? '' : conditionsCell(e.mapping)}</td><td>${verdictCell(e, deciders.get(e.role))}</td></tr>`)}</tbody></table></section>`
}

function mappingsTable (entries: readonly StoredEntry[]): Html {
  if (entries.length === 0) return html`<p>No mappings match.</p>`
  return html`<table id="mappings-table"><caption class="muted">${entries.length} mapping${entries.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Scope</th><th scope="col">Role</th><th scope="col">Role ARN</th><th scope="col">Pin</th><th scope="col">Conditions</th><th scope="col">Updated</th></tr></thead>
<tbody>${entries.map(e => {
    const link = html`<a href="${mappingHref(e.scope, e.role)}">${e.scope}</a>`
    if (e.mapping instanceof MappingInvalid) {
      return html`<tr><td>${link}</td><td>${e.role}</td><td class="mono">${roleArnOf(e)}</td><td colspan="2"><strong class="bad">invalid: grants nothing</strong></td><td>${updatedCell(e.item)}</td></tr>`
    }
    const m = e.mapping
    return html`<tr><td>${link}</td><td>${m.role}${m.enabled ? '' : html` <span class="warn">(disabled)</span>`}</td><td class="mono">${m.roleArn}</td>
<td>${pinCell(m)}</td><td>${conditionsCell(m)}</td><td>${updatedCell(e.item)}</td></tr>`
  })}</tbody></table>`
}

export async function mappingsPage (ctx: PageContext): Promise<ConsoleResponse> {
  const q = ctx.req.query
  const search = field(q, 'q', 200)
  const issuer = field(q, 'issuer', 2048)
  const role = field(q, 'role', 64)
  const projectText = field(q, 'project', 2048)
  const issuers = ctx.deps.config.broker.issuers
  const all = await ctx.deps.admin.list()
  const words = (search ?? '').toLowerCase().split(/\s+/).filter(Boolean)
  const shown = all.filter(e => matches(e, words, issuer, role))
  const project = projectText === undefined ? undefined : parseProject(projectText, issuers)
  const roles = [...new Set(all.map(e => e.role))].sort()
  const invalid = all.filter(e => e.mapping instanceof MappingInvalid).length
  const body = html`
<section aria-labelledby="project-heading"><h2 id="project-heading">What can this project get?</h2>
<form method="get" action="/console/mappings" class="filters" role="search" aria-label="What can this project get">
${textField({ name: 'project', label: issuers.length === 1 ? 'Project (path or URL)' : 'Project URL', value: projectText, placeholder: issuers.length === 1 ? 'acme/payments/api' : `${issuers[0]}/group/project`, size: 48 })}
<button type="submit">Show its roles</button></form>
${project && 'problem' in project ? html`<p class="danger" role="alert">${project.problem}</p>` : project ? coverageSection(project, all) : ''}
</section>
<section aria-labelledby="all-heading"><h2 id="all-heading">All mappings</h2>
${invalid ? html`<p class="danger">${invalid} invalid mapping${invalid === 1 ? '' : 's'}: the broker denies every request ${invalid === 1 ? 'it decides' : 'they decide'}. Open ${invalid === 1 ? 'it' : 'them'} to see why.</p>` : ''}
<form method="get" action="/console/mappings" class="filters" role="search" aria-label="Find mappings">
${textField({ name: 'q', label: 'Search scope, role, ARN, description', value: search, size: 36, filter: 'mappings-table' })}
${selectField({ name: 'issuer', label: 'Issuer', value: issuer, options: [['', 'Any issuer'], ...issuers.map(i => [i, i] as const)] })}
${selectField({ name: 'role', label: 'Role', value: role, options: [['', 'Any role'], ...roles.map(r => [r, r] as const)] })}
<button type="submit">Filter</button>
${ctx.role === 'editor' ? html`<a href="${consoleHref('/console/mappings/new')}">New mapping</a>` : ''}
</form>
${mappingsTable(shown)}
</section>`
  return page(200, layout({ title: 'Mappings', section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}
