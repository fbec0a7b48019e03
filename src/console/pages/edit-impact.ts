// The edit plan's impact (edit.ts): the last 30 days of the requests a change could decide, replayed by the CLI's own
// impact code (cli/impact.ts, as `mappings apply --dry-run --impact 30d`) against the table's mappings and the planned
// ones; what would flip, by project and role with a sample job, and what could not be replayed (counted, never guessed).
// Reads only: the records as the audit page reads them, the mappings as the table holds them.
import type { AuditRecord } from '../../broker/audit'
import { Unavailable } from '../../broker/errors'
import type { Mapping } from '../../broker/mapping'
import { candidateScopes, parseScope } from '../../broker/scope'
import { computeImpact, mappingSets } from '../../cli/impact'
import type { Direction, FlipGroup, Impact } from '../../cli/impact'
import { describeVerdict } from '../../cli/impact-report'
import { readableTime } from '../../cli/output'
import type { Plan } from '../../cli/plan'
import type { PageContext } from '../app'
import { consoleHref, html } from '../html'
import type { Html } from '../html'
import { READ_CAP, readRecords } from './audit'
import type { Row } from './audit'

export const IMPACT_DAYS = 30
const DAY_MS = 86_400_000

export interface EditImpact {
  readonly impact: Impact
  /** More records than a page reads: the impact covers the newest READ_CAP of them only. */
  readonly capped: boolean
}

const isText = (r: Row, k: string) => typeof r[k] === 'string'

/** A request's record (not a mapping change) with the fields the replay reads to place it: its time, project and role. */
const isRequestRecord = (r: Row): r is Row & AuditRecord =>
  ['at', 'outcome', 'issuer', 'project', 'project_path', 'role'].every(k => isText(r, k)) && r.kind === undefined

/**
 * The impact of `plan` (one mapping's create or update): only the requests for its role whose project its scope covers
 * can flip, so a project's scope reads that project's records (the byProject index) and a group's scans the period.
 */
export async function editImpact (ctx: PageContext, mapping: Mapping, plan: Plan): Promise<EditImpact> {
  const window = { since: new Date(ctx.now.getTime() - IMPACT_DAYS * DAY_MS).toISOString(), until: ctx.now.toISOString() }
  const project = parseScope(mapping.scope)?.kind === 'project' ? mapping.scope : undefined
  const [{ records, capped }, stored] = await Promise.all([readRecords(ctx, project, window.since), ctx.deps.admin.list()])
  const covered = records.filter(isRequestRecord).filter(r => r.role === mapping.role && r.at < window.until &&
    candidateScopes(r.issuer, r.project_path).includes(mapping.scope))
  return { impact: computeImpact(covered, mappingSets(stored, plan), window), capped }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

function flipTable (direction: Direction, groups: readonly FlipGroup[]): Html {
  const id = direction === 'issued→denied' ? 'impact-to-denied' : 'impact-to-issued'
  return html`<h3 id="${id}-heading" class="${direction === 'issued→denied' ? 'bad' : 'ok'}">${direction === 'issued→denied' ? 'Issued → denied' : 'Denied → issued'}</h3>
<table id="${id}" class="impact" aria-labelledby="${id}-heading"><thead><tr><th scope="col">Project</th><th scope="col">Role</th><th scope="col">Requests</th>
<th scope="col">Sample job</th><th scope="col">Now</th><th scope="col">Planned</th></tr></thead>
<tbody>${groups.map(g => html`<tr><td><a href="${consoleHref('/console/audit', { project: g.project, role: g.role })}">${g.project_path}</a></td><td>${g.role}</td>
<td>${plural(g.count, 'request')} (${plural(g.jobs, 'job')})</td>
<td>job ${g.sample.job_id} (pipeline ${g.sample.pipeline_id}, ref <code>${g.sample.ref}</code>) at ${readableTime(g.sample.at, 'minute')}</td>
<td>${describeVerdict(g.sample.now)}</td><td>${describeVerdict(g.sample.planned)}</td></tr>`)}</tbody></table>`
}

/** The section under the plan: the summary, the flips in each direction, what was not replayed. */
export function impactSection (mapping: Mapping, result: EditImpact): Html {
  const { impact, capped } = result
  const flips = impact.flips['issued→denied'] + impact.flips['denied→issued']
  const skipped = impact.notReplayed.reduce((n, x) => n + x.count, 0)
  const summary = `${plural(impact.records, 'request')} for the role "${mapping.role}" from the projects this scope covers, ` +
    `replayed against the table's mappings and the planned ones: ${flips === 0 ? 'no decision would flip' : `${plural(flips, 'decision')} would flip ` +
    `(${impact.flips['issued→denied']} issued → denied, ${impact.flips['denied→issued']} denied → issued)`}; ${impact.unchanged} unchanged` +
    `${skipped ? `; ${skipped} could not be replayed` : ''}.`
  return html`<section aria-labelledby="impact-heading"><h2 id="impact-heading">Impact over the last ${IMPACT_DAYS} days</h2>
<p id="impact-summary">${summary}</p>
${capped ? html`<p class="notice">Only the newest ${READ_CAP} records of the period were read: the impact leaves older ones out.</p>` : ''}
${(['issued→denied', 'denied→issued'] as const).map(d => {
  const groups = impact.groups.filter(g => g.direction === d)
  return groups.length ? flipTable(d, groups) : ''
})}
${impact.notReplayed.length ? html`<h3 id="impact-not-replayed">Not replayed (counted, never guessed)</h3>
<ul aria-labelledby="impact-not-replayed">${impact.notReplayed.map(x => html`<li>${plural(x.count, 'request')}: ${x.why}
<span class="muted">(${x.where.map(w => `${w.project_path} ${w.role} (${w.count})`).join(', ')})</span></li>`)}</ul>` : ''}
</section>`
}

/**
 * The impact, read and shown; when the tables cannot be read, a notice saying so instead. The impact is advice: the
 * plan and the save do not depend on it, and nothing is guessed in its place.
 */
export async function impactBlock (ctx: PageContext, mapping: Mapping, plan: Plan): Promise<Html> {
  try { return impactSection(mapping, await editImpact(ctx, mapping, plan)) }
  catch (err) {
    if (!(err instanceof Unavailable)) throw err
    ctx.deps.log('warn', 'console edit plan: the impact could not be read', { requestId: ctx.req.requestId, scope: mapping.scope, role: mapping.role, error: err.detail ?? err.message })
    return html`<section aria-labelledby="impact-heading"><h2 id="impact-heading">Impact over the last ${IMPACT_DAYS} days</h2>
<p class="notice">The audit records could not be read just now (${err.message}), so the impact is not shown; the plan above stands. Show the plan again to retry.</p></section>`
  }
}
