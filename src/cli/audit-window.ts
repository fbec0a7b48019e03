// A period of the audit trail (`--since 30d`, or `--since DATE --until DATE`) and every record in it: what `stats` counts
// and `mappings apply --impact` replays. Listing records one by one is audit.ts's (`audit list`).
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { AuditRecord } from '../broker/audit'
import { parseSince } from './audit'
import { CliError } from '../broker/errors'
import { progress } from './output'
import type { Target } from './target'

/** A half-open period [since, until) of ISO instants, as the records' `at` is written. */
export interface AuditWindow {
  readonly since: string
  readonly until: string
}

const DAY_MS = 86_400_000

/**
 * `--since` (default `fallback` back from now) and `--until` (default now). `--until` with a date alone means the end of
 * that day, so `--since 2026-11-01 --until 2026-11-30` holds all of November 30.
 */
export function parseWindow (opts: { since?: string; until?: string }, now: Date, fallback = '30d'): AuditWindow {
  const since = parseSince(opts.since ?? fallback, now)
  let until = now.toISOString()
  if (opts.until !== undefined) {
    let at: string
    try { at = parseSince(opts.until, now) }
    catch (e) { throw new CliError(e instanceof Error ? e.message.replace(/^--since/, '--until') : String(e)) }
    until = /^\d{4}-\d{2}-\d{2}$/.test(opts.until) ? new Date(Date.parse(at) + DAY_MS).toISOString() : at
  }
  if (since >= until) throw new CliError(`The period is empty: --since ${opts.since ?? fallback} is not before --until ${opts.until ?? 'now'}.`)
  return { since, until }
}

/** Every record of the period: a project's from the byProject index, or without one a Scan of the whole table. */
export async function readAuditWindow (target: Target, window: AuditWindow, project?: string): Promise<AuditRecord[]> {
  // The broker's audit reader (and the AWS SDK it uses) loads here, not for --help.
  const { queryAuditByProject, scanAudit } = await import('../broker/audit')
  const note = progress()
  const records: AuditRecord[] = []
  const inWindow = (r: AuditRecord) => typeof r.at === 'string' && r.at >= window.since && r.at < window.until
  let startKey: Record<string, AttributeValue> | undefined
  let read = 0
  do {
    const page = project
      ? await queryAuditByProject(target.db, target.tables.audit, { project, since: window.since, startKey })
      : await scanAudit(target.db, target.tables.audit, { since: window.since, startKey })
    read += page.records.length
    records.push(...page.records.filter(inWindow))
    startKey = page.next
    note.update(`read ${read} audit record(s)…`)
  } while (startKey)
  note.done()
  return records.sort((a, b) => a.at.localeCompare(b.at))
}
