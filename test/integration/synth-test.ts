// What `arc deploy` would deploy, checked offline: the template `npm run synth` writes, for staging and production.
// Leaves CloudFormation's own validation to AWS; this checks what tanuki-sts adds to Architect's template and relies on.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { ALL_OPTIONS, withOptions } from '../../scripts/check-template'
import { synth } from '../../scripts/synth'
import { KEYS_ITEM_ATTRIBUTES } from '../../src/broker/issuer-keys'
import { readTargetRoles } from '../../src/cli/target-roles'
import { ROOT } from '../helpers/broker-env'

type Template = Awaited<ReturnType<typeof synth>>
type Props = Record<string, unknown>
/** An inline policy of a role, as the template writes it. */
interface NamedPolicy { PolicyName: string; PolicyDocument: { Statement: Statement[] } }
interface Statement { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }

/** `target-roles ...` under `@tanuki-sts` in app.arc: what the broker's Lambda role may assume. */
const configuredTargetRoles = (): string[] => readTargetRoles(ROOT) ?? []

const templates: Partial<Record<'staging' | 'production', Template>> = {}
const resource = (t: Template, name: string) => t.Resources[name] as { Type: string; Properties: Props } | undefined
const functions = (t: Template) => Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function')

test('Set up env', async t => {
  templates.staging = await synth(ROOT, false)
  templates.production = await synth(ROOT, true)
  t.ok(Object.keys(templates.staging.Resources).length > 0, `staging: ${Object.keys(templates.staging.Resources).length} resources`)
  t.ok(Object.keys(templates.production.Resources).length > 0, `production: ${Object.keys(templates.production.Resources).length} resources`)
})

for (const stage of ['staging', 'production'] as const) {
  test(`${stage}: the Lambda role may assume the configured target roles, with session tags and source identity`, async t => {
    const targets = configuredTargetRoles()
    t.ok(targets.length > 0, `app.arc names target roles: ${targets.join(' ')}`)
    const policies = (resource(templates[stage]!, 'Role')?.Properties.Policies ?? []) as NamedPolicy[]
    const sts = policies.flatMap(p => p.PolicyDocument.Statement).filter(s => [s.Action].flat().some(a => a.startsWith('sts:')))
    t.equal(sts.length, 1, 'one statement grants STS actions')
    t.deepEqual([sts[0]?.Action].flat().sort(), ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'], 'AssumeRole, TagSession, SetSourceIdentity')
    t.equal(sts[0]?.Effect, 'Allow', 'allowed')
    t.deepEqual(sts[0]?.Resource, targets, 'on exactly the target roles of app.arc')
  })

  test(`${stage}: the Lambda role only reads mappings and only appends to the audit table`, async t => {
    const policies = (resource(templates[stage]!, 'Role')?.Properties.Policies ?? []) as NamedPolicy[]
    const statements = policies.flatMap(p => p.PolicyDocument.Statement)
    const allowed = statements.filter(s => s.Effect === 'Allow').flatMap(s => [s.Action].flat()).filter(a => a.startsWith('dynamodb:'))
    t.notOk(allowed.includes('dynamodb:*'), 'no dynamodb:* (Architect\'s default is replaced)')
    t.deepEqual([...new Set(allowed)].sort(), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      'read mappings; put, update, read and query audit records')
    const denied = statements.filter(s => s.Effect === 'Deny').flatMap(s => [s.Action].flat())
    t.ok(['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable'].every(a => denied.includes(a)),
      'deleting records or tables is denied outright')
    const writesMappings = statements.filter(s => s.Effect === 'Allow' && JSON.stringify(s.Resource).includes('MappingsTable'))
      .flatMap(s => [s.Action].flat()).filter(a => /Put|Update|Delete|Write/.test(a))
    t.deepEqual(writesMappings, [], 'the broker cannot change mappings: admins do, with their own credentials')
    const readsMappings = statements.filter(s => s.Effect === 'Allow' && JSON.stringify(s.Resource).includes('MappingsTable')).flatMap(s => [s.Action].flat())
    t.deepEqual(readsMappings.sort(), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      'mappings: the candidate scopes\' items, and the roles at them (for a "no mapping" denial\'s message)')
  })

  test(`${stage}: in the issuer-keys table the Lambda role reads items and puts key items, and nothing else; no other role touches it`, async t => {
    const tmpl = templates[stage]!
    const statementsOf = (role: string) => ((resource(tmpl, role)?.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>)
      .flatMap(p => p.PolicyDocument.Statement)
    const onKeys = (s: Statement) => JSON.stringify(s.Resource).includes('IssuerKeysTable')
    const allowed = statementsOf('Role').filter(s => s.Effect === 'Allow' && onKeys(s))
    t.deepEqual(allowed.flatMap(s => [s.Action].flat()).sort(), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      'GetItem and BatchGetItem (read with the mappings), PutItem (a set fetched from an issuer)')
    const put = allowed.find(s => [s.Action].flat().includes('dynamodb:PutItem'))
    t.deepEqual(put?.Resource, [{ 'Fn::Sub': ['arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tablename}',
      { tablename: { Ref: 'IssuerKeysTable' } }] }],
    'PutItem on the issuer-keys table alone')
    t.deepEqual(put?.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...KEYS_ITEM_ATTRIBUTES] } },
      'and only for items with a key item\'s attributes (src/broker/issuer-keys.ts)')
    const denied = statementsOf('Role').filter(s => s.Effect === 'Deny' && onKeys(s)).flatMap(s => [s.Action].flat())
    t.ok(['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable'].every(a => denied.includes(a)),
      'deleting items or the table is denied outright')
    for (const role of ['PlainRole', 'EventsRole']) t.notOk(statementsOf(role).some(onKeys), `${role}: no access to issuer keys`)
    t.deepEqual(resource(tmpl, 'IssuerKeysTable')?.Properties.KeySchema, [{ AttributeName: 'issuer', KeyType: 'HASH' }], 'the table is keyed by issuer')
    t.deepEqual(resource(tmpl, 'IssuerKeysParam')?.Properties.Name, { 'Fn::Sub': ['/${AWS::StackName}/tables/${tablename}', { tablename: 'issuer-keys' }] },
      'its name is published where the CLI looks (/<stack>/tables/issuer-keys)')
  })

  test(`${stage}: the mappings and audit tables, the byProject index, and TTL on audit records`, async t => {
    const tmpl = templates[stage]!
    const mappings = resource(tmpl, 'MappingsTable')
    const audit = resource(tmpl, 'AuditTable')
    t.equal(mappings?.Type, 'AWS::DynamoDB::Table', 'the mappings table')
    t.deepEqual(mappings?.Properties.KeySchema, [{ AttributeName: 'scope', KeyType: 'HASH' }, { AttributeName: 'role', KeyType: 'RANGE' }],
      'keyed by scope and role')
    t.equal(audit?.Type, 'AWS::DynamoDB::Table', 'the audit table')
    t.deepEqual(audit?.Properties.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], 'keyed by pk and sk')
    t.deepEqual(audit?.Properties.TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true }, 'TTL on expiresAt')
    const indexes = (audit?.Properties.GlobalSecondaryIndexes ?? []) as Array<{ IndexName: string; KeySchema: unknown; Projection: unknown }>
    t.deepEqual(indexes.find(i => i.IndexName === 'byProject')?.KeySchema,
      [{ AttributeName: 'project', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], 'the byProject index: project, then time')
    t.deepEqual(indexes.find(i => i.IndexName === 'byProject')?.Projection, { ProjectionType: 'KEYS_ONLY' },
      'it keeps keys only: no copy of each record to write twice (its readers read the records by key)')
    t.notOk(mappings?.Properties.TimeToLiveSpecification, 'mappings do not expire')
  })

  test(`${stage}: the tables are kept when CloudFormation would delete or replace them`, async t => {
    // A replacement moves the stack to new, empty tables and deletes the old ones afterwards, where a failure rolls
    // nothing back: only Retain keeps the mappings and the audit trail. A stack deletion would drop them too.
    for (const name of ['MappingsTable', 'AuditTable', 'IssuerKeysTable']) {
      const table = templates[stage]!.Resources[name] as { DeletionPolicy?: unknown; UpdateReplacePolicy?: unknown } | undefined
      t.equal(table?.DeletionPolicy, 'Retain', `${name}: DeletionPolicy Retain (stack deletion, a failed first create's rollback)`)
      t.equal(table?.UpdateReplacePolicy, 'Retain', `${name}: UpdateReplacePolicy Retain (a replacing update)`)
    }
  })

  test(`${stage}: the tables have deletion protection and point-in-time recovery`, async t => {
    for (const name of ['MappingsTable', 'AuditTable', 'IssuerKeysTable']) {
      const props = resource(templates[stage]!, name)?.Properties
      t.equal(props?.DeletionProtectionEnabled, true, `${name}: DeleteTable is refused until protection is turned off`)
      t.deepEqual(props?.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true }, `${name}: restorable to any second of 35 days`)
    }
  })

  test(`${stage}: only the credentials Lambdas run as the role that may assume target roles`, async t => {
    const tmpl = templates[stage]!
    const roleOf = (fn: string) => JSON.stringify(resource(tmpl, fn)?.Properties.Role)
    for (const fn of ['PostCredentialsHTTPLambda', 'GetCredentialsHTTPLambda']) t.match(roleOf(fn), /"Ref":"Role"/, `${fn}: Role`)
    t.equal(roleOf('GetHealthzHTTPLambda'), JSON.stringify({ 'Fn::GetAtt': ['PlainRole', 'Arn'] }), 'healthz: the plain role')
    t.equal(roleOf('AnyCatchallHTTPLambda'), JSON.stringify({ 'Fn::GetAtt': ['PlainRole', 'Arn'] }), 'the catch-all: the plain role')
    t.equal(roleOf('CredentialsIssuedEventLambda'), JSON.stringify({ 'Fn::GetAtt': ['EventsRole', 'Arn'] }), 'the event Lambda: the events role')
    const statements = (name: string) => ((resource(tmpl, name)?.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>)
      .flatMap(p => p.PolicyDocument.Statement)
    const actions = (name: string) => statements(name).filter(s => s.Effect === 'Allow').flatMap(s => [s.Action].flat()).sort()
    t.deepEqual(actions('PlainRole'), ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], 'the plain role: its logs, nothing else')
    t.deepEqual(actions('EventsRole'), ['dynamodb:UpdateItem', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      'the events role: its logs and UpdateItem')
    t.deepEqual(statements('EventsRole').find(s => s.Action.includes('dynamodb:UpdateItem'))?.Resource,
      [{ 'Fn::Sub': ['arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tablename}', { tablename: { Ref: 'AuditTable' } }] }],
      'on the audit table alone')
    const assumable = Object.entries(tmpl.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties).includes('sts:AssumeRole"'))
      .filter(([, r]) => JSON.stringify(r.Properties.Policies ?? []).includes('sts:'))
    t.deepEqual(assumable.map(([name]) => name), ['Role'], 'no other role in the stack may call STS')
  })

  test(`${stage}: the console's Lambdas read mappings and the audit; only its forms write, a mapping and its change record`, async t => {
    const tmpl = templates[stage]!
    const roleOf = (fn: string) => JSON.stringify(resource(tmpl, fn)?.Properties.Role)
    for (const fn of ['GetConsoleHTTPLambda', 'GetConsoleCatchallHTTPLambda']) {
      t.equal(roleOf(fn), JSON.stringify({ 'Fn::GetAtt': ['ConsoleReadRole', 'Arn'] }), `${fn}: the console's read role`)
    }
    t.equal(roleOf('PostConsoleCatchallHTTPLambda'), JSON.stringify({ 'Fn::GetAtt': ['ConsoleWriteRole', 'Arn'] }), 'its forms: the console\'s write role')
    const allowed = (role: string, table: string) => ((resource(tmpl, role)?.Properties.Policies ?? []) as NamedPolicy[])
      .flatMap(p => p.PolicyDocument.Statement).filter(s => s.Effect === 'Allow' && JSON.stringify(s.Resource).includes(table)).flatMap(s => [s.Action].flat())
    const sorted = (a: string[]) => [...new Set(a)].sort()
    t.deepEqual(sorted(allowed('ConsoleReadRole', 'MappingsTable')), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      'read role: reads mappings')
    t.deepEqual(sorted(allowed('ConsoleReadRole', 'AuditTable')), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      'read role: reads the audit (a project\'s records by key)')
    t.deepEqual(sorted(allowed('ConsoleWriteRole', 'MappingsTable')),
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan'],
      'write role: puts a mapping too (the console\'s writes are conditional)')
    for (const role of ['ConsoleReadRole', 'ConsoleWriteRole']) {
      t.deepEqual(sorted(allowed(role, 'IssuerKeysTable')), ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
        `${role}: reads the issuer keys (Explain verifies as the broker does), never writes them`)
    }
    t.deepEqual(sorted(allowed('ConsoleWriteRole', 'AuditTable')),
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
      'and records the change in the audit')
    const everything = JSON.stringify([resource(tmpl, 'ConsoleReadRole')?.Properties.Policies, resource(tmpl, 'ConsoleWriteRole')?.Properties.Policies])
    t.notOk(/Delete|BatchWrite|sts:/.test(everything), 'neither deletes anything, nor calls STS')
  })

  test(`${stage}: the console's secrets reach the console's Lambdas only`, async t => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { deploy } = require('../../src/plugins/tanuki-sts.js') as { deploy: { start: (p: { arc: object; cloudformation: Template }) => Template } }
    const tmpl = structuredClone(templates[stage]!)
    // As `arc env` leaves them: in every function's environment.
    for (const [, fn] of functions(tmpl)) {
      Object.assign((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
        { CONSOLE_CLIENT_SECRET: 's', ARC_APP_SECRET: 'k', CONSOLE_CLIENT_ID: 'id' })
    }
    const out = deploy.start({ arc: { 'tanuki-sts': [['target-roles', ...configuredTargetRoles()]] }, cloudformation: tmpl })
    for (const [name, fn] of functions(out)) {
      const vars = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
      const console = name.includes('Console')
      t.equal('CONSOLE_CLIENT_SECRET' in vars && 'ARC_APP_SECRET' in vars, console,
        `${name}: ${console ? 'has' : 'has not'} the client secret and the session key`)
    }
  })

  test(`${stage}: every route is throttled at API Gateway`, async t => {
    t.deepEqual(resource(templates[stage]!, 'HTTP')?.Properties.DefaultRouteSettings, { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 500 },
      '100 a second, bursts of 500 (the defaults)')
  })

  test(`${stage}: the credentials-issued topic, and its Lambda subscribed to it`, async t => {
    const tmpl = templates[stage]!
    t.equal(resource(tmpl, 'CredentialsIssuedEventTopic')?.Type, 'AWS::SNS::Topic', 'the topic exists')
    const events = resource(tmpl, 'CredentialsIssuedEventLambda')?.Properties.Events as Record<string, { Type: string; Properties: Props }> | undefined
    t.deepEqual(Object.values(events ?? {}).map(e => [e.Type, e.Properties.Topic]), [['SNS', { Ref: 'CredentialsIssuedEventTopic' }]],
      'the event Lambda subscribes to it')
  })

  test(`${stage}: no S3 bucket (app.arc disables Architect's public static one)`, async t => {
    const buckets = Object.entries(templates[stage]!.Resources).filter(([, r]) => r.Type.startsWith('AWS::S3::'))
    t.deepEqual(buckets.map(([name]) => name), [], 'no S3 resources')
  })

  test(`${stage}: every function gets the table names and the events topic, and runs nodejs22.x`, async t => {
    const fns = functions(templates[stage]!)
    t.equal(fns.length, 8, 'eight functions: seven routes (three of them the console\'s) and the event')
    for (const [name, fn] of fns) {
      const props = fn.Properties as { Runtime?: string; Environment?: { Variables?: Record<string, unknown> } }
      const vars = props.Environment?.Variables ?? {}
      t.equal(props.Runtime, 'nodejs22.x', `${name}: nodejs22.x`)
      t.deepEqual([vars.BROKER_TABLE_MAPPINGS, vars.BROKER_TABLE_AUDIT, vars.BROKER_TABLE_ISSUER_KEYS],
        [{ Ref: 'MappingsTable' }, { Ref: 'AuditTable' }, { Ref: 'IssuerKeysTable' }],
        `${name}: BROKER_TABLE_MAPPINGS, BROKER_TABLE_AUDIT and BROKER_TABLE_ISSUER_KEYS`)
      t.deepEqual(vars.BROKER_EVENTS_TOPIC, { Ref: 'CredentialsIssuedEventTopic' }, `${name}: BROKER_EVENTS_TOPIC, the credentials-issued topic`)
      t.equal(vars.ARC_ENV, stage, `${name}: ARC_ENV ${stage}`)
    }
  })
}

for (const stage of ['staging', 'production'] as const) {
  test(`${stage}: alarms on 5xx rate, upstream errors, audit failures, throttling and the event Lambda's errors, to the alarm topic`, async t => {
    const tmpl = templates[stage]!
    const alarms = Object.entries(tmpl.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    const props = (name: string) => resource(tmpl, name)?.Properties as Record<string, unknown>
    t.deepEqual(alarms.map(([name]) => name),
      ['AlarmServerErrorRate', 'AlarmUpstreamErrors', 'AlarmAuditFailures', 'AlarmThrottling', 'AlarmEventLambdaErrors'], 'five alarms')
    t.equal(resource(tmpl, 'AlarmTopic')?.Type, 'AWS::SNS::Topic', 'an alarm topic of the stack\'s own (no alarm-topic set)')
    for (const [name, alarm] of alarms) {
      t.deepEqual([alarm.Properties.AlarmActions, alarm.Properties.OKActions], [[{ Ref: 'AlarmTopic' }], [{ Ref: 'AlarmTopic' }]],
        `${name}: to the alarm topic, alarm and recovery`)
      t.equal(alarm.Properties.TreatMissingData, 'notBreaching', `${name}: no data (no requests) is no alarm`)
      t.match(String(alarm.Properties.AlarmDescription), /What to do: docs\/operations\.md#[a-z-]+\.$/, `${name}: says where the runbook is`)
    }
    const ns = { 'Fn::Sub': 'TanukiSts/${AWS::StackName}' }
    t.deepEqual([props('AlarmUpstreamErrors').Namespace, props('AlarmUpstreamErrors').MetricName], [ns, 'UpstreamErrors'],
      'upstream errors: the broker\'s UpstreamErrors')
    t.deepEqual([props('AlarmAuditFailures').Namespace, props('AlarmAuditFailures').MetricName, props('AlarmAuditFailures').Threshold],
      [ns, 'AuditFailures', 1],
      'audit failures: any AuditFailures')
    t.deepEqual([props('AlarmEventLambdaErrors').MetricName, props('AlarmEventLambdaErrors').Dimensions],
      ['Errors', [{ Name: 'FunctionName', Value: { Ref: 'CredentialsIssuedEventLambda' } }]],
      'the event Lambda\'s errors: AWS/Lambda Errors of that function')
    type Query = { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: unknown; MetricName: string } } }
    const rate = props('AlarmServerErrorRate').Metrics as Query[]
    t.deepEqual(rate.map(m => m.MetricStat ? `${String(m.MetricStat.Metric.Namespace)} ${m.MetricStat.Metric.MetricName}` : m.Expression),
      ['AWS/ApiGateway 5xx', 'AWS/ApiGateway Count', 'IF(requests >= 10, 100 * errors / requests, 0)'], '5xx rate: API Gateway\'s 5xx over its requests, in %')
    const throttled = props('AlarmThrottling').Metrics as Query[]
    t.deepEqual(throttled.filter(m => m.MetricStat).map(m => m.MetricStat!.Metric.MetricName),
      ['Throttles', 'Throttles', 'ReadThrottleEvents', 'WriteThrottleEvents', 'ReadThrottleEvents', 'WriteThrottleEvents', 'ReadThrottleEvents',
        'WriteThrottleEvents', 'UpstreamErrors'],
      'throttling: the credentials Lambdas, the three tables (mappings, audit, issuer keys), and STS (UpstreamErrors with StsCode Throttling)')
    t.ok(throttled.length <= 10, 'within the 10 metrics an alarm may have')
  })

  test(`${stage}: a dashboard of the broker's metrics and AWS's, and the metrics' namespace in every function's environment`, async t => {
    const tmpl = templates[stage]!
    const dashboard = resource(tmpl, 'Dashboard')?.Properties as { DashboardName: unknown; DashboardBody: { 'Fn::Sub': [string, Record<string, unknown>] } }
    const [text, vars] = dashboard.DashboardBody['Fn::Sub']
    const used = [...text.matchAll(/\$\{([\w:.]+)\}/g)].map(m => m[1])
    const known = (v: string) => v in vars || v.startsWith('AWS::') || (v.endsWith('.Arn') ? v.slice(0, -4) : v) in tmpl.Resources
    t.deepEqual(used.filter(v => !known(v)), [], 'every ${...} is a variable, a pseudo parameter or a resource of the stack')
    const body = JSON.parse(text) as { widgets: Array<{ type: string; properties: { title: string; alarms?: string[] } }> }
    t.deepEqual(body.widgets[0].properties.alarms, ['${AlarmServerErrorRate.Arn}', '${AlarmUpstreamErrors.Arn}', '${AlarmAuditFailures.Arn}',
      '${AlarmThrottling.Arn}',
      '${AlarmEventLambdaErrors.Arn}'], 'the alarms first')
    t.deepEqual(body.widgets.slice(1).map(w => w.properties.title),
      ['Requests by outcome', 'Latency (ms)', 'Issued by role', 'Denied by condition', 'Refused tokens by reason',
        'Upstream errors by STS code', 'Failures: audit writes, event publishes, 5xx answers', 'Cold starts by function',
        'HTTP API: requests, 4xx (429 throttled included), 5xx',
        'Lambdas: errors and throttles', 'Tables: throttled reads and writes'], 'then the metrics')
    for (const [name, fn] of functions(tmpl)) {
      const vars = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables
      t.deepEqual([vars.BROKER_METRICS_NAMESPACE, vars.BROKER_METRICS_PER_PROJECT], [{ 'Fn::Sub': 'TanukiSts/${AWS::StackName}' }, 'off'],
        `${name}: the stack's namespace, no per-project metrics`)
    }
  })
}

test('alarm-email, alarm-topic and metrics-per-project under @tanuki-sts', async t => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { deploy } = require('../../src/plugins/tanuki-sts.js') as { deploy: { start: (p: { arc: object; cloudformation: Template }) => Template } }
  const roles = ['target-roles', 'arn:aws:iam::111122223333:role/gitlab-*']
  const build = (...extra: string[][]) => deploy.start({ arc: { 'tanuki-sts': [roles, ...extra] }, cloudformation: structuredClone(templates.staging!) })
  const refused = (...extra: string[][]) => {
    try { build(...extra); return 'deployed' }
    catch (err) { return (err as Error).message }
  }
  const emailed = build(['alarm-email', 'ops@example.com', 'oncall@example.com'])
  const subscriptions = Object.values(emailed.Resources).filter(r => r.Type === 'AWS::SNS::Subscription').map(r => r.Properties)
  t.deepEqual(subscriptions, ['ops@example.com', 'oncall@example.com'].map(Endpoint => ({ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint })),
    'alarm-email: each address subscribed to the alarm topic (AWS mails a confirmation first)')
  const topic = 'arn:aws:sns:us-east-1:111122223333:ops-alerts'
  const own = build(['alarm-topic', topic])
  t.notOk(own.Resources.AlarmTopic, 'alarm-topic: no topic of the stack\'s own')
  const alarms = Object.values(own.Resources).filter(r => r.Type === 'AWS::CloudWatch::Alarm')
  t.ok(alarms.every(r => JSON.stringify(r.Properties.AlarmActions) === JSON.stringify([topic])),
    'every alarm goes to that topic')
  const perProject = build(['metrics-per-project', 'on'])
  t.ok(Object.values(perProject.Resources).filter(r => r.Type === 'AWS::Serverless::Function')
    .every(r => (r.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables.BROKER_METRICS_PER_PROJECT === 'on'),
  'metrics-per-project on: every function')
  t.match(refused(['alarm-email', 'ops']), /alarm-email must be e-mail addresses, not "ops"/, 'an address that is none')
  t.match(refused(['alarm-topic', 'ops-alerts']), /alarm-topic must be one SNS topic ARN/, 'a topic that is no ARN')
  t.match(refused(['alarm-topic', topic], ['alarm-email', 'ops@example.com']), /exclude each other/, 'both')
  t.match(refused(['metrics-per-project', 'yes']), /metrics-per-project must be on or off/, 'metrics-per-project neither on nor off')
  t.end()
})

test('target-roles: a wildcard account or a role name that starts with a wildcard is refused, whatever the stage', async t => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { deploy } = require('../../src/plugins/tanuki-sts.js') as { deploy: { start: (p: { arc: object; cloudformation: Template }) => Template } }
  const attempt = (targetRoles: string[], extra: unknown[] = []) => {
    try {
      deploy.start({ arc: { 'tanuki-sts': [['target-roles', ...targetRoles], ...extra] }, cloudformation: structuredClone(templates.staging!) })
      return 'deployed'
    }
    catch (err) { return (err as Error).message }
  }
  t.match(attempt(['arn:aws:iam::*:role/*']), /target-roles arn:aws:iam::\*:role\/\* is too broad: name the account \(12 digits\)/, 'any account, any role')
  t.match(attempt(['arn:aws:iam::111122223333:role/*']), /too broad/, 'any role of one account')
  t.match(attempt(['arn:aws:iam::111122223333:role/gitlab-*', 'arn:aws:iam::111122223333:role/*admin']), /role\/\*admin is too broad/, 'a name that starts with *, named alone')
  t.match(attempt(['arn:aws:iam::11112222333*:role/gitlab-*']), /too broad/, 'a wildcard in the account')
  t.match(attempt(['*']), /too broad/, 'a bare *')
  t.equal(attempt(['arn:aws:iam::111122223333:role/gitlab-*', 'arn:aws:iam::444455556666:role/ci/deploy-?']), 'deployed',
    'named accounts and prefixes (with a path)')
  t.equal(attempt(['arn:aws-us-gov:iam::111122223333:role/gitlab-*']), 'deployed', 'another partition')
  t.match(attempt(['arn:aws:iam::111122223333:role/gitlab-*'], [['throttle-rate', 'fast']]), /throttle-rate must be a whole number/, 'a throttle that is not a number')
  const bounded = deploy.start({ arc: { 'tanuki-sts': [['target-roles', 'arn:aws:iam::111122223333:role/gitlab-*'],
    ['permissions-boundary', 'arn:aws:iam::111122223333:policy/TanukiStsBoundary']] },
  cloudformation: structuredClone(templates.staging!) })
  const roles = Object.entries(bounded.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role')
  t.deepEqual(roles.map(([name, r]) => [name, r.Properties.PermissionsBoundary]),
    ['Role', 'PlainRole', 'EventsRole', 'ConsoleReadRole', 'ConsoleWriteRole'].map(name => [name, 'arn:aws:iam::111122223333:policy/TanukiStsBoundary']),
    'permissions-boundary: every role of the stack carries it')
  t.notOk(Object.values(templates.staging!.Resources).some(r => 'PermissionsBoundary' in r.Properties), 'without it, none does')
  t.match(attempt(['arn:aws:iam::111122223333:role/gitlab-*'], [['permissions-boundary', 'TanukiStsBoundary']]), /permissions-boundary must be one IAM policy ARN/, 'a boundary that is not a policy ARN')
  const logged = deploy.start({ arc: { 'tanuki-sts': [['target-roles', 'arn:aws:iam::111122223333:role/gitlab-*'], ['log-retention-days', '400']] },
    cloudformation: structuredClone(templates.staging!) })
  const fns = Object.entries(logged.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function')
  t.deepEqual(fns.map(([name, r]) => [r.Properties.LoggingConfig, logged.Resources[`${name}Logs`]?.Properties.RetentionInDays]),
    fns.map(([name]) => [{ LogGroup: { Ref: `${name}Logs` } }, 400]), 'log-retention-days: each function logs to a group of its own that keeps 400 days')
  t.ok(fns.every(([name]) => (logged.Resources[`${name}Logs`] as { DeletionPolicy?: string }).DeletionPolicy === 'Retain'),
    'kept if the setting is removed or the stack deleted')
  const plainLogs = (logged.Resources.PlainRole.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>)[0].PolicyDocument.Statement
    .filter(s => JSON.stringify(s.Resource).includes('Logs'))
  t.deepEqual(plainLogs.map(s => s.Resource), [{ 'Fn::GetAtt': ['GetHealthzHTTPLambdaLogs', 'Arn'] }, { 'Fn::GetAtt': ['AnyCatchallHTTPLambdaLogs', 'Arn'] }],
    'and the plain role may write to its functions\' groups')
  t.notOk(Object.values(templates.staging!.Resources).some(r => r.Type === 'AWS::Logs::LogGroup'), 'without it, no log groups (Lambda\'s own, kept forever)')
  t.match(attempt(['arn:aws:iam::111122223333:role/gitlab-*'], [['log-retention-days', '42']]), /log-retention-days must be one of CloudWatch's periods/, 'a period CloudWatch does not have')
  const accessLogged = deploy.start({ arc: { 'tanuki-sts': [['target-roles', 'arn:aws:iam::111122223333:role/gitlab-*'], ['access-log-retention-days', '90']] },
    cloudformation: structuredClone(templates.staging!) })
  const access = accessLogged.Resources.HTTP.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string } | undefined
  t.deepEqual([access?.DestinationArn, accessLogged.Resources.HttpAccessLogs?.Properties.RetentionInDays], [{ 'Fn::GetAtt': ['HttpAccessLogs', 'Arn'] }, 90],
    'access-log-retention-days: API Gateway logs every request to a group of the stack\'s own, kept 90 days')
  t.deepEqual(accessLogged.Resources.HttpAccessLogs?.Properties.LogGroupName, { 'Fn::Sub': '/aws/vendedlogs/${AWS::StackName}-access' },
    'under /aws/vendedlogs/ (one entry in the account\'s vended-logs resource policy covers it)')
  t.deepEqual(Object.keys(JSON.parse(access?.Format ?? '{}') as object),
    ['requestId', 'time', 'sourceIp', 'userAgent', 'method', 'path', 'route', 'status', 'responseLength', 'integrationError'],
    'a JSON line; no header, so never a token')
  t.notOk('AccessLogSettings' in templates.staging!.Resources.HTTP.Properties, 'without it, no access logs')
  const custom = deploy.start({ arc: { 'tanuki-sts': [['target-roles', 'arn:aws:iam::111122223333:role/gitlab-*'], ['throttle-rate', '400'],
    ['throttle-burst', '2000']] },
  cloudformation: structuredClone(templates.staging!) })
  t.deepEqual(custom.Resources.HTTP.Properties.DefaultRouteSettings, { ThrottlingRateLimit: 400, ThrottlingBurstLimit: 2000 },
    'throttle-rate and throttle-burst set the limits')
})

test('the template checks (npm run check:template) lint templates with every option off, and with every option in effect', async t => {
  const arc = readFileSync(join(ROOT, 'app.arc'), 'utf8')
  const off = await synth(ROOT, false, withOptions(arc, []))
  const on = await synth(ROOT, false, withOptions(arc, ALL_OPTIONS))
  const roles = (tmpl: Template) => Object.values(tmpl.Resources).filter(r => r.Type === 'AWS::IAM::Role')
  t.ok(roles(off).every(r => !('PermissionsBoundary' in r.Properties)), 'off: no permissions boundary')
  t.notOk(Object.values(off.Resources).some(r => r.Type === 'AWS::Logs::LogGroup'), 'off: no log groups')
  t.deepEqual(resource(off, 'HTTP')?.Properties.DefaultRouteSettings, { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 500 }, 'off: the default throttles')
  t.ok(roles(on).every(r => typeof r.Properties.PermissionsBoundary === 'string'), 'on: permissions-boundary on every role')
  t.equal(Object.values(on.Resources).filter(r => r.Type === 'AWS::Logs::LogGroup').length, 9,
    'on: log-retention-days and access-log-retention-days (nine log groups: one per function, the console ones included, and the access log)')
  t.deepEqual(resource(on, 'HTTP')?.Properties.DefaultRouteSettings, { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 200 },
    'on: throttle-rate and throttle-burst')
  t.deepEqual(resource(on, 'AlarmEmail1')?.Properties, { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: 'ops@example.com' },
    'on: alarm-email subscribes the address to the alarm topic')
  t.notOk(resource(off, 'AlarmEmail1'), 'off: no alarm subscription')
  const perProject = (tmpl: Template) =>
    JSON.stringify(Object.values(tmpl.Resources).filter(r => r.Type === 'AWS::Serverless::Function').map(r => r.Properties))
  t.ok(perProject(on).includes('"BROKER_METRICS_PER_PROJECT":"on"') && !perProject(off).includes('"BROKER_METRICS_PER_PROJECT":"on"'),
    'on: metrics-per-project reaches the functions; off: it does not')
  t.throws(() => withOptions('@app\nx\n', []), /no @tanuki-sts pragma/, 'an app.arc without @tanuki-sts is refused, not linted as something else')
})

test('Teardown', async t => {
  t.pass('nothing to stop')
})
