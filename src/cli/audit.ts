// `audit list`: who got (or was refused) credentials, newest first: a project's records from the byProject index,
// or without --project a Scan of the whole table. Records are written by the broker (src/broker/audit.ts).
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Command } from 'commander'
import type { AuditRecord, Outcome } from '../broker/audit'
import { isGitLabPath } from '../broker/claims'
import { CliError } from '../broker/errors'
import { trustedIssuers } from './local-info'
import { err, out, print, printJson, progress, readableTime, renderTable, say } from './output'
import { addTargetOptions, withTarget } from './target'
import type { Target, TargetOptions } from './target'

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }
const OUTCOMES: readonly Outcome[] = ['issued', 'denied', 'failed']

/** `--since`: a duration back from now (`90m`, `24h`, `7d`, `2w`) or an ISO date/time; the ISO instant it means. */
export function parseSince (text: string, now: Date): string {
  const ago = /^(\d{1,6})([smhdw])$/.exec(text)
  if (ago) return new Date(now.getTime() - Number(ago[1]) * UNITS[ago[2]] * 1000).toISOString()
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = new Date(text)
    if (!Number.isNaN(at.getTime())) return at.toISOString()
  }
  throw new CliError(`--since "${text}": give a duration (30m, 24h, 7d, 2w) or an ISO date/time (2026-11-01, 2026-11-01T12:00:00Z).`)
}

/** The index key of a project: its URL on its GitLab (issuer + path), as the broker records it. */
export function projectKey (project: string, issuer: string | undefined): string {
  if (project.includes('*')) {
    throw new CliError(`--project "${project}": records are kept per project, so --project names one project. For a group, list without ` +
      '--project and filter (e.g. --json | jq \'.[] | select(.project_path | startswith("acme/payments/"))\').')
  }
  if (/^https?:\/\//.test(project)) return project.replace(/\/+$/, '')
  const path = project.replace(/^\/+|\/+$/g, '')
  if (!isGitLabPath(path)) throw new CliError(`--project "${project}" is neither a project URL nor a GitLab project path.`)
  if (!issuer) {
    throw new CliError(`--project ${path} is a path, and the issuer it belongs to is not known: give --issuer URL ` +
      '(or set BROKER_ISSUERS to a single issuer), or pass the project\'s URL (https://gitlab.example.com/group/project).')
  }
  return `${issuer.replace(/\/+$/, '')}/${path}`
}

interface AuditOptions extends TargetOptions {
  project?: string
  role?: string
  since?: string
  outcome?: string
  limit?: string
  issuer?: string
  id?: string
  json?: boolean
}

function defaultIssuer (opts: AuditOptions, env: NodeJS.ProcessEnv): string | undefined {
  const issuers = trustedIssuers(opts, env)
  return issuers.length === 1 ? issuers[0] : undefined
}

async function collect (target: Target, opts: AuditOptions, since: string | undefined, limit: number): Promise<AuditRecord[]> {
  // Without --project, --issuer filters (with it, it says which GitLab the project path is on).
  const issuer = !opts.project && opts.issuer ? opts.issuer.replace(/\/+$/, '') : undefined
  // The AWS SDK loads with the audit table's reader, here and not for --help.
  const { isMappingChange, queryAuditByProject, scanAudit } = await import('../broker/audit')
  // The console's mapping-change records share the table (and are not in the byProject index): the console shows them.
  const keep = (r: AuditRecord) => !isMappingChange(r as unknown as Record<string, unknown>) && (!opts.role || r.role === opts.role) && (!opts.outcome || r.outcome === opts.outcome) &&
    (!issuer || r.issuer === issuer) && (!opts.id || r.requestId === opts.id || r.issuanceId === opts.id)
  const note = progress()
  const records: AuditRecord[] = []
  let startKey: Record<string, AttributeValue> | undefined
  if (opts.project) {
    const project = projectKey(opts.project, defaultIssuer(opts, process.env))
    do {
      const filtered = Boolean(opts.role || opts.outcome || opts.id)
      const page = await queryAuditByProject(target.db, target.tables.audit, { project, since, startKey, limit: filtered ? 100 : Math.min(100, limit - records.length) })
      records.push(...page.records.filter(keep))
      startKey = page.next
      note.update(`${records.length} record(s)…`)
    } while (startKey && records.length < limit)
    note.done()
    return records.slice(0, limit)
  }
  say(err.dim('No --project: scanning the whole audit table (a Scan reads every record; --project uses the byProject index).'))
  let scanned = 0
  do {
    const page = await scanAudit(target.db, target.tables.audit, { since, startKey })
    scanned += page.records.length
    records.push(...page.records.filter(keep))
    startKey = page.next
    note.update(`scanned ${scanned} record(s)…`)
  } while (startKey)
  note.done()
  return records.sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit)
}

function detail (r: AuditRecord): string {
  if (r.outcome === 'issued') return [r.issuanceId && `issuance ${r.issuanceId}`, r.accessKeyId, r.use !== undefined && `use ${r.use}`].filter(Boolean).join(', ')
  return r.reason ?? r.condition ?? ''
}

async function list (opts: AuditOptions): Promise<void> {
  if (opts.outcome && !(OUTCOMES as readonly string[]).includes(opts.outcome)) throw new CliError(`--outcome must be one of ${OUTCOMES.join(', ')}.`)
  const limit = opts.limit === undefined ? 50 : Number(opts.limit)
  if (!/^\d+$/.test(opts.limit ?? '50') || limit < 1 || limit > 10000) throw new CliError('--limit must be a whole number from 1 to 10000.')
  const since = opts.since === undefined ? undefined : parseSince(opts.since, new Date())
  if (opts.project) projectKey(opts.project, defaultIssuer(opts, process.env))
  await withTarget(opts, async target => {
    const records = await collect(target, opts, since, limit)
    if (opts.json) return printJson(records)
    if (records.length === 0) {
      say(`No audit records match in ${target.label}.`)
      return
    }
    const colour = (o: Outcome) => o === 'issued' ? out.green(o) : o === 'denied' ? out.yellow(o) : out.red(o)
    print(renderTable(['AT', 'OUTCOME', 'PROJECT', 'REF', 'JOB', 'USER', 'ROLE', 'DETAIL'], records.map(r => [
      readableTime(r.at), colour(r.outcome), r.project_path, r.ref, r.job_id, r.user_login ?? '', r.role, detail(r),
    ]), out.bold))
    if (records.length === limit) say(err.dim(`Showing the newest ${limit}; --limit shows more.`))
  })
}

export function registerAudit (program: Command): void {
  const audit = program.command('audit').description('read the audit table: issuances and authenticated denials')
    .addHelpText('after', '\nExample:\n  $ tanuki-sts audit list --project acme/payments/api --since 24h --local')
  addTargetOptions(audit.command('list')
    .description('list audit records, newest first')
    .option('--project <path-or-url>', 'a project path (needs the issuer) or URL; without it the whole table is scanned')
    .option('--issuer <url>', 'the GitLab a --project path belongs to (default: the single $BROKER_ISSUERS entry); without --project, only records of this GitLab')
    .option('--id <id>', 'only the record of this request id (as the broker\'s messages show it) or issuance id (as the credentials carry it)')
    .option('--role <role>', 'only this role')
    .option('--since <when>', 'only records since: 30m, 24h, 7d, 2w or an ISO date/time')
    .option('--outcome <outcome>', 'only issued, denied or failed')
    .option('--limit <n>', 'at most this many records (default 50)')
    .option('--json', 'print JSON'))
    .addHelpText('after', '\nExamples:\n  $ tanuki-sts audit list --project https://gitlab.com/acme/payments/api --since 7d --region us-east-1 --env production\n' +
      '  $ tanuki-sts audit list --outcome denied --since 24h --local --json\n' +
      '  $ tanuki-sts audit list --id 6d1e10d5-0f4e-4a8e-9d0e-3f2b8f7c1a90 --since 1d --region us-east-1 --env production')
    .action(list)
}
