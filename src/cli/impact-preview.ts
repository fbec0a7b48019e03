// The I/O of `mappings apply --dry-run --impact PERIOD`: read the period's audit records, replay them (impact.ts), print
// the result (impact-report.ts) unless --json, where apply.ts puts it beside the plan. Reads only; writes nothing.
import type { StoredEntry } from '../broker/mappings'
import { parseWindow, readAuditWindow } from './audit-window'
import { computeImpact, mappingSets } from './impact'
import type { Impact } from './impact'
import { renderImpact } from './impact-report'
import { CliError } from '../broker/errors'
import { err, out, print, say } from './output'
import type { Plan } from './plan'
import type { Target } from './target'

export async function previewImpact (target: Target, stored: readonly StoredEntry[], plan: Plan, period: string, json: boolean): Promise<Impact> {
  let window
  try { window = parseWindow({ since: period }, new Date()) }
  catch (e) { throw new CliError(e instanceof Error ? e.message.replace(/^--since/, '--impact') : String(e)) }
  if (!json) say(err.dim(`Replaying the audit records since ${window.since} (a Scan of table ${target.tables.audit})…`))
  const impact = computeImpact(await readAuditWindow(target, window), mappingSets(stored, plan), window)
  if (!json) for (const line of renderImpact(impact, out)) print(line)
  return impact
}
