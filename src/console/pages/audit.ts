// Audit: issuances, denials and console changes, filtered by project, role, outcome and time; a chart of issued and
// denied per day; a project's timeline; one record in full (with the AccessKeyId to search CloudTrail for).
// Records are the broker's (audit.ts): a project through the byProject index, otherwise a Scan, as `audit list` reads them.
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { getAuditRecord, isMappingChange, queryAuditByProject, scanAudit } from '../../broker/audit'
import { readableTime } from '../../cli/output'
import { PageError } from '../app'
import type { PageContext } from '../app'
import { chartSvg, dailyCounts } from '../chart'
import { consoleHref, html } from '../html'
import type { Html } from '../html'
import { layout } from '../layout'
import { parseProject } from '../project'
import { field } from '../request'
import { page } from '../respond'
import type { ConsoleResponse } from '../respond'
import { mappingHref, selectField, textField } from './common'

export type Row = Readonly<Record<string, unknown>>

/** A console page reads at most this many records (a Scan of a busy table is paged; the page says when it stopped). */
export const READ_CAP = 5000
const SHOWN = 200
const WINDOWS = [['1', 'Last 24 hours'], ['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days']] as const
const OUTCOMES = [['', 'Any outcome'], ['issued', 'issued'], ['denied', 'denied'], ['failed', 'failed'], ['change', 'mapping changes']] as const
const text = (r: Row, k: string): string => typeof r[k] === 'string' ? r[k] as string : typeof r[k] === 'number' ? String(r[k]) : ''

/**
 * The records since `since`, newest first: a project's (its URL) from the byProject index, else a Scan; at most
 * READ_CAP of them (`capped` when there were more). The audit page's, and the edit plan's impact (edit-impact.ts).
 */
export async function readRecords (ctx: PageContext, projectUrl: string | undefined, since: string): Promise<{ records: Row[]; capped: boolean }> {
  const { db, tables } = ctx.deps
  const records: Row[] = []
  let startKey: Record<string, AttributeValue> | undefined
  do {
    const page = projectUrl
      ? await queryAuditByProject(db, tables.audit, { project: projectUrl, since, startKey, limit: 500 })
      : await scanAudit(db, tables.audit, { since, startKey })
    records.push(...page.records as unknown as Row[])
    startKey = page.next
  } while (startKey && records.length < READ_CAP)
  return { records: records.sort((a, b) => text(b, 'at').localeCompare(text(a, 'at'))), capped: startKey !== undefined }
}

const recordHref = (r: Row) => consoleHref('/console/audit/record', { pk: text(r, 'pk'), sk: text(r, 'sk') })
const outcomeOf = (r: Row) => isMappingChange(r) ? `mapping ${text(r, 'outcome') === 'changed' ? text(r, 'action') + 'd' : text(r, 'outcome')}` : text(r, 'outcome')

function detail (r: Row): Html | string {
  if (isMappingChange(r)) return html`<a href="${mappingHref(text(r, 'scope'), text(r, 'role'))}">${text(r, 'scope')}</a> by ${text(r, 'actor')}`
  if (r.outcome === 'issued') return [text(r, 'accessKeyId'), r.use !== undefined ? `use ${text(r, 'use')}` : ''].filter(Boolean).join(', ')
  return text(r, 'reason') || text(r, 'condition')
}

function recordsTable (rows: readonly Row[]): Html {
  return html`<table id="audit-table"><thead><tr><th scope="col">At (UTC)</th><th scope="col">Outcome</th><th scope="col">Project</th><th scope="col">Ref</th>
<th scope="col">Job</th><th scope="col">User</th><th scope="col">Role</th><th scope="col">Detail</th></tr></thead>
<tbody>${rows.map(r => html`<tr><td><a href="${recordHref(r)}">${readableTime(text(r, 'at'))}</a></td><td class="${text(r, 'outcome')}">${outcomeOf(r)}</td>
<td>${text(r, 'project_path')}</td><td>${text(r, 'ref')}</td><td>${text(r, 'job_id')}</td><td>${text(r, 'user_login')}</td><td>${text(r, 'role')}</td><td>${detail(r)}</td></tr>`)}</tbody></table>`
}

/** A project's issuances as a timeline, newest first, one day at a time. */
function timeline (rows: readonly Row[]): Html {
  const days = new Map<string, Row[]>()
  for (const r of rows) days.set(text(r, 'at').slice(0, 10), [...(days.get(text(r, 'at').slice(0, 10)) ?? []), r])
  return html`${[...days].map(([day, list]) => html`<h3>${day}</h3><ol class="timeline">${list.map(r => html`<li class="${text(r, 'outcome')}">
<a href="${recordHref(r)}">${text(r, 'at').slice(11, 19)}</a> <strong>${text(r, 'outcome')}</strong> role <strong>${text(r, 'role')}</strong>
to job ${text(r, 'job_id')} (pipeline ${text(r, 'pipeline_id')}) on <code>${text(r, 'ref')}</code>${r.user_login ? html`, started by ${text(r, 'user_login')}` : ''}
${r.outcome === 'issued' ? html`<span class="muted">${text(r, 'accessKeyId')}</span>` : html`<div class="muted">${text(r, 'reason')}</div>`}</li>`)}</ol>`)}`
}

export async function auditPage (ctx: PageContext): Promise<ConsoleResponse> {
  const q = ctx.req.query
  const projectText = field(q, 'project', 2048)
  const role = field(q, 'role', 64)
  const outcome = field(q, 'outcome', 16) ?? ''
  const days = field(q, 'days', 3) ?? '30'
  if (!WINDOWS.some(([d]) => d === days)) throw new PageError(400, 'bad_request', `"days" is one of ${WINDOWS.map(([d]) => d).join(', ')}.`)
  if (!OUTCOMES.some(([o]) => o === outcome)) throw new PageError(400, 'bad_request', `"outcome" is one of issued, denied, failed or change.`)
  const project = projectText === undefined ? undefined : parseProject(projectText, ctx.deps.config.broker.issuers)
  const since = new Date(ctx.now.getTime() - Number(days) * 86_400_000)
  const filters = html`<form method="get" action="/console/audit" class="filters" role="search" aria-label="Filter the audit">
${textField({ name: 'project', label: 'Project (path or URL)', value: projectText, size: 40 })}
${textField({ name: 'role', label: 'Role', value: role, size: 14 })}
${selectField({ name: 'outcome', label: 'Outcome', value: outcome, options: OUTCOMES })}
${selectField({ name: 'days', label: 'Time', value: days, options: WINDOWS })}
<button type="submit">Show</button></form>`
  if (project && 'problem' in project) {
    const body = html`${filters}<p class="danger" role="alert">${project.problem}</p>`
    return page(400, layout({ title: 'Audit', section: 'audit', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
  }
  const { records, capped } = await readRecords(ctx, project?.url, since.toISOString())
  const kept = records.filter(r => (!role || r.role === role) &&
    (outcome === '' || (outcome === 'change' ? isMappingChange(r) : !isMappingChange(r) && r.outcome === outcome)))
  const issuances = kept.filter(r => !isMappingChange(r)) as unknown as Array<{ at: string; outcome: string }>
  const what = project ? project.url : 'all projects'
  const body = html`${filters}
<section aria-labelledby="chart-heading"><h2 id="chart-heading">Issued and denied per day: ${what}</h2>
${chartSvg(dailyCounts(issuances, since, ctx.now), `Credentials issued and denied per day, ${what}, ${WINDOWS.find(([d]) => d === days)?.[1].toLowerCase()}`)}
${capped ? html`<p class="notice">Only the newest ${READ_CAP} records were read; narrow the time or name a project to see all.</p>` : ''}</section>
<section aria-labelledby="records-heading"><h2 id="records-heading">${project ? html`Timeline of ${project.url}` : 'Records'}</h2>
${kept.length === 0 ? html`<p>No records match.</p>` : project ? timeline(kept.slice(0, SHOWN)) : recordsTable(kept.slice(0, SHOWN))}
${kept.length > SHOWN ? html`<p class="muted">The newest ${SHOWN} of ${kept.length} are shown.</p>` : ''}</section>`
  return page(200, layout({ title: 'Audit', section: 'audit', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

/** The order a record's fields are shown in; any others follow, by name. */
const FIELD_ORDER = ['at', 'outcome', 'reason', 'condition', 'role', 'roleArn', 'scope', 'project', 'project_path', 'project_id', 'namespace_path', 'ref', 'ref_type',
  'ref_protected', 'environment', 'pipeline_id', 'job_id', 'user_login', 'issuanceId', 'accessKeyId', 'expiration', 'sessionName', 'sourceIdentity', 'durationSeconds',
  'use', 'requestId', 'issuer', 'jti', 'token_sha256', 'kind', 'action', 'actor', 'actorId', 'changes', 'pk', 'sk', 'expiresAt']

export async function recordPage (ctx: PageContext): Promise<ConsoleResponse> {
  const pk = field(ctx.req.query, 'pk', 4096)
  const sk = field(ctx.req.query, 'sk', 4096)
  if (!pk || !sk) throw new PageError(400, 'bad_request', 'Name a record by its pk and sk (follow a link from the audit page).')
  const record = await getAuditRecord(ctx.deps.db, ctx.deps.tables.audit, { pk, sk })
  if (!record) throw new PageError(404, 'not_found', 'There is no such audit record (records expire after the audit retention).')
  const names = [...FIELD_ORDER.filter(k => k in record), ...Object.keys(record).filter(k => !FIELD_ORDER.includes(k)).sort()]
  const key = text(record, 'accessKeyId')
  const changes = isMappingChange(record) ? JSON.parse(text(record, 'changes') || '[]') as Array<{ field: string; old?: unknown; new?: unknown }> : []
  const body = html`${key ? html`<div class="good"><p>These credentials' AccessKeyId is <code>${key}</code>
<button type="button" class="secondary hidden" data-copy="${key}">Copy</button></p>
<p>Search CloudTrail for it (the events' <code>userIdentity.accessKeyId</code>) to see what the job did with them.</p></div>` : ''}
${changes.length ? html`<h2>Changes</h2><ul>${changes.map(c => html`<li><code>${c.field}</code>: ${c.old === undefined ? '' : html`<span class="bad">${JSON.stringify(c.old)}</span> → `}${c.new === undefined ? '(removed)' : html`<span class="ok">${JSON.stringify(c.new)}</span>`}</li>`)}</ul>` : ''}
<dl class="record">${names.map(k => html`<dt>${k}</dt><dd>${typeof record[k] === 'string' ? record[k] as string : JSON.stringify(record[k])}</dd>`)}</dl>
<p><a href="${consoleHref('/console/audit', { project: text(record, 'project') || undefined })}">Back to the audit</a></p>`
  return page(200, layout({ title: isMappingChange(record) ? 'Mapping change' : `Audit record: ${text(record, 'outcome')}`, section: 'audit', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}
