// What `tanuki-sts stats` shows: audit records counted per day, per project and per role, the denial reasons that
// came up most, and the text chart of it. Pure: reading the records is audit-window.ts's, the command stats.ts's.
import type { AuditRecord, Outcome } from '../broker/audit'
import type { AuditWindow } from './audit-window'
import type { Paint } from './output'
import { readableTime, renderTable } from './output'

export type Counts = Record<Outcome, number>

export interface Stats {
  readonly since: string
  readonly until: string
  readonly totals: Counts
  /** Every UTC day of the period, oldest first, days without records included. */
  readonly days: ReadonlyArray<{ day: string } & Counts>
  readonly projects: ReadonlyArray<{ project: string; project_path: string } & Counts>
  readonly roles: ReadonlyArray<{ role: string } & Counts>
  /** Refusals of authenticated requests (denied, and failed at STS), grouped by what refused them, where; most first. */
  readonly denialReasons: ReadonlyArray<DenialReason>
}

export interface DenialReason {
  readonly outcome: 'denied' | 'failed'
  /** The rule that denied (`ref`, `mapping`, `maxUses`, ...), or `sts` for an issuance STS refused. */
  readonly condition: string
  readonly project: string
  readonly project_path: string
  readonly role: string
  readonly count: number
  readonly lastAt: string
  /** The newest record's reason, as the job was told it. */
  readonly example: string
}

const zero = (): Counts => ({ issued: 0, denied: 0, failed: 0 })
const DAY_MS = 86_400_000

function countInto<K> (map: Map<K, Counts>, key: K, outcome: Outcome): void {
  let counts = map.get(key)
  if (!counts) map.set(key, counts = zero())
  counts[outcome]++
}

const total = (c: Counts) => c.issued + c.denied + c.failed
const byVolume = <T extends Counts>(a: T & { key: string }, b: T & { key: string }) => total(b) - total(a) || a.key.localeCompare(b.key)

/** The UTC days from `since` up to (not including) `until`. */
export function daysOf (window: AuditWindow): string[] {
  const days: string[] = []
  for (let t = Date.parse(window.since.slice(0, 10)); t < Date.parse(window.until); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10))
  return days
}

/** An STS failure's reason without its detail (which names accounts and differs per request): `STS refused AssumeRole for ARN: CODE`. */
const failureKind = (reason: string | undefined) => (reason ?? 'failed').replace(/ \(.*$/s, '')

export function summarize (records: readonly AuditRecord[], window: AuditWindow, top = 10): Stats {
  const totals = zero()
  const days = new Map<string, Counts>(daysOf(window).map(day => [day, zero()]))
  const projects = new Map<string, Counts>()
  const paths = new Map<string, string>()
  const roles = new Map<string, Counts>()
  const reasons = new Map<string, DenialReason>()
  for (const r of records) {
    if (r.outcome !== 'issued' && r.outcome !== 'denied' && r.outcome !== 'failed') continue
    totals[r.outcome]++
    countInto(days, r.at.slice(0, 10), r.outcome)
    countInto(projects, r.project, r.outcome)
    paths.set(r.project, r.project_path)
    countInto(roles, r.role, r.outcome)
    if (r.outcome === 'issued') continue
    const condition = r.outcome === 'failed' ? 'sts' : r.condition ?? 'unknown'
    const kind = r.outcome === 'failed' ? failureKind(r.reason) : condition
    const key = JSON.stringify([r.outcome, kind, r.project, r.role])
    const seen = reasons.get(key)
    const newest = !seen || r.at >= seen.lastAt
    reasons.set(key, {
      outcome: r.outcome, condition, project: r.project, project_path: r.project_path, role: r.role,
      count: (seen?.count ?? 0) + 1,
      lastAt: newest ? r.at : seen.lastAt,
      example: newest ? (r.outcome === 'failed' ? failureKind(r.reason) : r.reason ?? '') : seen.example,
    })
  }
  return {
    since: window.since,
    until: window.until,
    totals,
    days: [...days].sort(([a], [b]) => a.localeCompare(b)).map(([day, c]) => ({ day, ...c })),
    projects: [...projects].map(([key, c]) => ({ key, ...c })).sort(byVolume)
      .map(({ key, ...c }) => ({ project: key, project_path: paths.get(key) ?? key, ...c })),
    roles: [...roles].map(([key, c]) => ({ key, ...c })).sort(byVolume).map(({ key, ...c }) => ({ role: key, ...c })),
    denialReasons: [...reasons.values()].sort((a, b) => b.count - a.count || b.lastAt.localeCompare(a.lastAt)).slice(0, top),
  }
}

/** Marks of the chart: issued, denied, failed. Block characters, so the chart reads without colour too. */
export const MARKS: Record<Outcome, string> = { issued: '█', denied: '░', failed: '▒' }
const CHART_WIDTH = 50

/** A day's bar: one mark per `per` requests of each outcome, at least one for any outcome that happened. */
export function bar (c: Counts, per: number, p: Paint): string {
  const marks = (n: number) => n === 0 ? 0 : Math.max(1, Math.round(n / per))
  return p.green(MARKS.issued.repeat(marks(c.issued))) + p.yellow(MARKS.denied.repeat(marks(c.denied))) + p.red(MARKS.failed.repeat(marks(c.failed)))
}

const countCells = (c: Counts) => [String(c.issued), String(c.denied), String(c.failed)]

/** The report as printed: the chart per day, totals, then projects, roles and the top denial reasons. */
export function renderStats (stats: Stats, where: string, p: Paint): string[] {
  const per = Math.max(1, Math.ceil(Math.max(0, ...stats.days.map(total)) / CHART_WIDTH))
  const lines = [
    p.bold(`Issuances and denials per day (UTC), ${readableTime(stats.since, 'minute')} to ${readableTime(stats.until, 'minute')}, in ${where}`),
    '',
    renderTable(['DAY', 'ISSUED', 'DENIED', 'FAILED', ''], stats.days.map(d => [d.day, ...countCells(d), bar(d, per, p)]), p.bold),
    p.dim(`${MARKS.issued} issued  ${MARKS.denied} denied  ${MARKS.failed} failed (STS refused); one mark is ${per === 1 ? 'one request' : `up to ${per} ` +
      'requests'}`),
    '',
    p.bold(`Total: ${stats.totals.issued} issued, ${stats.totals.denied} denied, ${stats.totals.failed} failed`),
  ]
  if (stats.projects.length === 0) return [...lines, '', 'No audit records in this period.']
  // Projects by path, unless records come from more than one GitLab: then by URL, which says which.
  const oneGitLab = new Set(stats.projects.map(x => x.project.slice(0, x.project.length - x.project_path.length))).size === 1
  const name = (x: { project: string; project_path: string }) => oneGitLab ? x.project_path : x.project
  lines.push('', renderTable(['PROJECT', 'ISSUED', 'DENIED', 'FAILED'], stats.projects.map(x => [name(x), ...countCells(x)]), p.bold))
  lines.push('', renderTable(['ROLE', 'ISSUED', 'DENIED', 'FAILED'], stats.roles.map(x => [x.role, ...countCells(x)]), p.bold))
  if (stats.denialReasons.length > 0) {
    lines.push('', p.bold('Top denial reasons'))
    lines.push(renderTable(['COUNT', 'REFUSED BY', 'PROJECT', 'ROLE', 'LAST', 'LAST MESSAGE'], stats.denialReasons.map(d => [
      String(d.count), d.outcome === 'failed' ? 'STS' : d.condition, name(d), d.role, readableTime(d.lastAt, 'minute'), d.example,
    ]), p.bold))
  }
  return lines
}
