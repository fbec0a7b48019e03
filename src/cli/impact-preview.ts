// The I/O of `--impact PERIOD`, for `mappings apply --dry-run` (against the table) and `mappings plan --from` (between
// files): read the period's audit records, replay them (impact.ts), print the result (impact-report.ts) unless --json,
// where the command puts it beside its plan. Reads only; writes nothing.
import type { StoredEntry } from '../broker/mappings'
import { parseWindow, readAuditWindow } from './audit-window'
import { computeImpact, mappingSets } from './impact'
import type { Impact } from './impact'
import { renderImpact } from './impact-report'
import { CliError } from '../broker/errors'
import { err, out, print, say } from './output'
import type { Plan } from './plan'
import type { Target } from './target'

/**
 * `stored`: the mappings the plan starts from (the table's, or the --from files'); `current` names them in the report.
 */
export async function previewImpact (target: Target, stored: readonly StoredEntry[], plan: Plan, period: string, json: boolean,
  current = 'the stored mappings'): Promise<Impact> {
  let window
  try { window = parseWindow({ since: period }, new Date()) }
  catch (e) { throw new CliError(e instanceof Error ? e.message.replace(/^--since/, '--impact') : String(e)) }
  if (!json) say(err.dim(`Replaying the audit records since ${window.since} (a Scan of table ${target.tables.audit})…`))
  const impact = computeImpact(await readAuditWindow(target, window), mappingSets(stored, plan), window)
  if (!json) for (const line of renderImpact(impact, out, current)) print(line)
  return impact
}
