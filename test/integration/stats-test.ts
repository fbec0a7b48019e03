// `tanuki-sts stats` through the real CLI, against the sandbox's audit table: records the broker wrote today (real
// requests) beside records seeded days back, counted per day, project and role, with the top denial reasons.
import test from 'tape'
import { dayOf, seedAuditRecord } from '../helpers/audit-seed'
import { ROLE_ARN, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { localCliEnv, runCli } from '../helpers/cli'

let env: BrokerEnv
const local = ['--local']
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, localCliEnv(env, extra))

const seed = (daysAgo: number, fields: Parameters<typeof seedAuditRecord>[2]) => seedAuditRecord(env, daysAgo, fields)

async function post (claims: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${await env.mint(claims)}` } })
  await res.text()
  return res.status
}

interface Stats {
  since: string
  until: string
  totals: Record<string, number>
  days: Array<{ day: string; issued: number; denied: number; failed: number }>
  projects: Array<{ project_path: string; issued: number; denied: number; failed: number }>
  roles: Array<{ role: string; issued: number; denied: number; failed: number }>
  denialReasons: Array<{ outcome: string; condition: string; project_path: string; role: string; count: number; example: string }>
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  await env.putMapping({ scope: `${env.issuer.url}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  const statuses = [await post({}), await post({}), await post({ ref: 'feature' }), await post({ ref: 'dev' })]
  await seed(3, { outcome: 'issued', role: 'read-only', project_path: 'acme/ledger/api' })
  await seed(3, { outcome: 'issued', role: 'read-only', project_path: 'acme/ledger/api' })
  await seed(3, { outcome: 'denied', role: 'deploy', project_path: 'acme/ledger/api', condition: 'mapping',
    reason: `No mapping lets ${env.issuer.url}/acme/ledger/api use the role "deploy".` })
  await seed(10, { outcome: 'failed', role: 'deploy', reason: `STS refused AssumeRole for ${ROLE_ARN}: AccessDenied (User: arn:aws:sts::1:assumed-role/x is not authorized)` })
  await seed(45, { outcome: 'issued', role: 'deploy' })
  t.plan(1)
  t.deepEqual(statuses, [200, 200, 403, 403], 'today: two issuances and two denials through the broker; seeded: 3, 10 and 45 days back')
})

test('stats --json: per day, per project and per role over the last 30 days, and the top denial reasons', async t => {
  const run = await cli(['stats', ...local, '--json'])
  const stats = JSON.parse(run.stdout) as Stats
  const day = (daysAgo: number) => stats.days.find(d => d.day === dayOf(daysAgo))
  t.plan(10)
  t.equal(run.code, 0, 'exit 0')
  t.deepEqual(stats.totals, { issued: 4, denied: 3, failed: 1 }, 'totals: the record 45 days back is outside the default 30 days')
  t.equal(stats.days.length, 31, 'every day of the period, days without records too')
  t.deepEqual([day(0), day(3), day(10), day(1)].map(d => d && [d.issued, d.denied, d.failed]), [[2, 2, 0], [2, 1, 0], [0, 0, 1], [0, 0, 0]],
    'today 2 issued and 2 denied, 3 days back 2 and 1, 10 days back 1 failed, yesterday nothing')
  t.deepEqual(stats.projects.map(p => [p.project_path, p.issued, p.denied, p.failed]), [['acme/payments/api', 2, 2, 1], ['acme/ledger/api', 2, 1, 0]],
    'per project, the busiest first')
  t.deepEqual(stats.roles.map(r => [r.role, r.issued, r.denied, r.failed]), [['deploy', 2, 3, 1], ['read-only', 2, 0, 0]], 'per role')
  const [first, ...rest] = stats.denialReasons
  t.deepEqual([first.outcome, first.condition, first.project_path, first.role, first.count], ['denied', 'ref', 'acme/payments/api', 'deploy', 2],
    'the top denial reason: ref, twice, on acme/payments/api for deploy')
  t.match(first.example, /requires ref to be "main"; this token has "(dev|feature)"/, 'with the message the job was given')
  t.deepEqual(rest.map(r => [r.outcome, r.condition, r.project_path, r.role, r.count]).sort(),
    [['denied', 'mapping', 'acme/ledger/api', 'deploy', 1], ['failed', 'sts', 'acme/payments/api', 'deploy', 1]], 'then no mapping, and STS refusing')
  t.equal(rest.find(r => r.outcome === 'failed')?.example, `STS refused AssumeRole for ${ROLE_ARN}: AccessDenied`, 'an STS refusal without its detail')
})

test('stats as text: a chart per day, then projects, roles and the top denial reasons', async t => {
  const run = await cli(['stats', ...local])
  const lines = run.stdout.split('\n')
  t.plan(7)
  t.match(lines[0], /^Issuances and denials per day \(UTC\), .* in the local sandbox/, 'a title naming the period and the tables')
  t.ok(lines.some(l => l.startsWith(`${dayOf(0)}  `) && l.endsWith('██░░')), 'today: two issued marks, two denied marks')
  t.ok(lines.some(l => l.startsWith(`${dayOf(10)}  `) && l.endsWith('▒')), '10 days back: one failed mark')
  t.match(run.stdout, /█ issued {2}░ denied {2}▒ failed \(STS refused\); one mark is one request/, 'a legend with the scale')
  t.match(run.stdout, /Total: 4 issued, 3 denied, 1 failed/, 'the totals')
  t.match(run.stdout, /PROJECT\s+ISSUED\s+DENIED\s+FAILED\nacme\/payments\/api\s+2\s+2\s+1\nacme\/ledger\/api\s+2\s+1\s+0/, 'the projects')
  t.match(run.stdout, /Top denial reasons\nCOUNT\s+REFUSED BY\s+PROJECT\s+ROLE\s+LAST\s+LAST MESSAGE\n2\s+ref\s+acme\/payments\/api\s+deploy\s/, 'the top denial reasons')
})

test('a period: --since a duration, or --since and --until dates; --project reads one project', async t => {
  const week = JSON.parse((await cli(['stats', ...local, '--since', '7d', '--json'])).stdout) as Stats
  const oneDay = JSON.parse((await cli(['stats', ...local, '--since', dayOf(3), '--until', dayOf(3), '--json'])).stdout) as Stats
  const older = JSON.parse((await cli(['stats', ...local, '--since', '60d', '--json'])).stdout) as Stats
  const project = JSON.parse((await cli(['stats', ...local, '--project', 'acme/ledger/api', '--json'])).stdout) as Stats
  t.plan(6)
  t.deepEqual(week.totals, { issued: 4, denied: 3, failed: 0 }, '--since 7d leaves out the failure 10 days back')
  t.equal(week.days.length, 8, 'and covers 8 days (7 back, and today)')
  t.deepEqual(oneDay.days.map(d => d.day), [dayOf(3)], '--since and --until the same date: that whole day')
  t.deepEqual(oneDay.totals, { issued: 2, denied: 1, failed: 0 }, 'and its records')
  t.deepEqual(older.totals, { issued: 5, denied: 3, failed: 1 }, '--since 60d reaches the record 45 days back')
  t.deepEqual(project.projects.map(p => p.project_path), ['acme/ledger/api'], '--project: that project only, from the byProject index')
})

test('bad input is refused with what to write, and nothing is read', async t => {
  const runs = await Promise.all([
    cli(['stats', ...local, '--since', 'yesterday']),
    cli(['stats', ...local, '--until', 'soon']),
    cli(['stats', ...local, '--since', dayOf(1), '--until', dayOf(5)]),
    cli(['stats', ...local, '--top', '0']),
    cli(['stats']),
  ])
  t.plan(runs.length + 5)
  for (const run of runs) t.equal(run.code, 1, `exit 1: ${run.stderr.trim().split('\n')[0]}`)
  t.match(runs[0].stderr, /--since "yesterday": give a duration \(30m, 24h, 7d, 2w\) or an ISO date/, '--since that is no time')
  t.match(runs[1].stderr, /--until "soon": give a duration/, '--until that is no time, named as --until')
  t.match(runs[2].stderr, /The period is empty: --since .* is not before --until/, 'a period that ends before it starts')
  t.match(runs[3].stderr, /--top must be a whole number from 1/, '--top 0')
  t.match(runs[4].stderr, /Say which tables: --local .* or --region/, 'no target')
})

test('Teardown', async t => {
  await env.stop()
  t.plan(1)
  t.pass('sandbox, local issuer and local STS stopped')
})
