// `stats`: issuances and denials per day, per project and per role over a period, with the top denial reasons, from the
// audit table. Counting and the chart are stats-report.ts's; reading the period's records audit-window.ts's.
import type { Command } from 'commander'
import { projectKey } from './audit'
import { readAuditWindow, parseWindow } from './audit-window'
import { trustedIssuers } from './local-info'
import { CliError } from '../broker/errors'
import { err, out, print, printJson, say } from './output'
import { renderStats, summarize } from './stats-report'
import { addTargetOptions, withTarget } from './target'
import type { TargetOptions } from './target'

interface StatsOptions extends TargetOptions {
  since?: string
  until?: string
  project?: string
  issuer?: string
  top?: string
  json?: boolean
}

async function stats (opts: StatsOptions): Promise<void> {
  const window = parseWindow(opts, new Date())
  const top = Number(opts.top ?? 10)
  if (!/^\d{1,3}$/.test(opts.top ?? '10') || top < 1) throw new CliError('--top must be a whole number from 1 to 999.')
  const issuers = trustedIssuers(opts)
  const project = opts.project === undefined ? undefined : projectKey(opts.project, issuers.length === 1 ? issuers[0] : undefined)
  await withTarget(opts, async target => {
    if (!project) say(err.dim('No --project: scanning the whole audit table (a Scan reads every record; --project uses the byProject index).'))
    const summary = summarize(await readAuditWindow(target, window, project), window, top)
    if (opts.json) return printJson({ target: target.label, ...(project && { project }), ...summary })
    for (const line of renderStats(summary, target.label, out)) print(line)
  })
}

export function registerStats (program: Command): void {
  addTargetOptions(program.command('stats')
    .description('issuances and denials per day, per project and per role, and the top denial reasons, from the audit table')
    .option('--since <when>', 'the start: 30m, 24h, 7d, 2w or an ISO date/time (default 30d)')
    .option('--until <when>', 'the end (default now); a date alone means the end of that day (UTC)')
    .option('--project <path-or-url>', 'only this project (reads the byProject index instead of scanning the table)')
    .option('--issuer <url>', 'the GitLab a --project path belongs to (default: the single trusted issuer)')
    .option('--top <n>', 'how many denial reasons to list (default 10)')
    .option('--json', 'print JSON'))
    .addHelpText('after', '\nExamples:\n  $ tanuki-sts stats --local\n' +
      '  $ tanuki-sts stats --since 2026-11-01 --until 2026-11-30 --region us-east-1 --env production --json\n' +
      '  $ tanuki-sts stats --project https://gitlab.com/acme/payments/api --since 7d --region us-east-1 --env production')
    .action(stats)
}
