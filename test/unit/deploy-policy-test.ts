// The IAM policies docs/deploying.md ships (docs/policies/*.json), read as IAM reads them and checked against what a
// deploy creates: the template `npm run synth` writes for each stack, with every @tanuki-sts setting that asks more of
// the deploy role turned on. The calls each resource needs are CloudFormation's create/update/delete calls for its type;
// a type this file does not know fails the test, so a new kind of resource cannot reach a deploy unexamined.
// Nothing here runs against AWS: what IAM itself would say is left to a real deploy (docs/deploying.md says so).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { parse } from 'yaml'
import { synth } from '../../scripts/synth'
import { readTargetRoles } from '../../src/cli/target-roles'
import { ROOT } from '../helpers/broker-env'
import { docSnippet } from '../helpers/doc-snippets'
import { decide, grammarProblems, policySize } from '../helpers/iam-policy'
import type { Call, PolicyDocument } from '../helpers/iam-policy'

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }
type Template = { Resources: Record<string, Resource>; Transform?: unknown }

/** The placeholder account and the region the docs and app.arc use. */
const ACCOUNT = '111122223333'
const REGION = 'us-east-1'
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/TanukiStsBoundary`
const STACKS = { staging: 'TanukiStsStaging', production: 'TanukiStsProduction' } as const
/** The suffix CloudFormation adds to the names it generates (`<stack>-<logical id>-<suffix>`). */
const SUFFIX = '1A2B3C4D5E6F'
/** Names longer than these are shortened by CloudFormation, which could cut the `TanukiSts` prefix the policies rely on. */
const NAME_LIMITS: Record<string, number> = {
  'AWS::IAM::Role': 64, 'AWS::Serverless::Function': 64, 'AWS::DynamoDB::Table': 255, 'AWS::SNS::Topic': 256, 'AWS::Logs::LogGroup': 512,
}
/** Architect's deploy bucket: `<app>-cfn-deployments-<5 hex>` (@architect/deploy src/sam/bucket/create-bucket.js). */
const BUCKET = 'tanuki-sts-cfn-deployments-0a1b2'

const policy = (name: string): PolicyDocument => JSON.parse(readFileSync(join(ROOT, 'docs', 'policies', name), 'utf8')) as PolicyDocument
const targetRoles = () => readTargetRoles(ROOT) ?? []

const synthesized = new Map<keyof typeof STACKS, Promise<Template>>()

/** The stack's template, with the deploy plugin applied again over it with the settings given (as synth-test does). */
async function template (stage: keyof typeof STACKS, settings: string[][]): Promise<Template> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { deploy } = require('../../src/plugins/tanuki-sts.js') as { deploy: { start: (p: { arc: object; cloudformation: Template }) => Template } }
  if (!synthesized.has(stage)) synthesized.set(stage, synth(ROOT, stage === 'production') as unknown as Promise<Template>)
  const base = await synthesized.get(stage)!
  return deploy.start({ arc: { 'tanuki-sts': [['target-roles', ...targetRoles()], ...settings] }, cloudformation: structuredClone(base) })
}

/** Names, ARNs and intrinsic functions of one stack, resolved as CloudFormation would in account ACCOUNT. */
function resolver (t: Template, stack: string) {
  const resource = (id: string) => {
    const r = t.Resources[id]
    if (!r) throw new Error(`the template has no resource ${id}`)
    return r
  }
  const name = (id: string): string => {
    const r = resource(id)
    if (r.Type === 'AWS::SSM::Parameter') return value(r.Properties.Name)
    if (r.Type === 'AWS::Logs::LogGroup' && r.Properties.LogGroupName !== undefined) return value(r.Properties.LogGroupName)
    const generated = `${stack}-${id}-${SUFFIX}`
    const limit = NAME_LIMITS[r.Type]
    if (limit !== undefined && generated.length > limit) throw new Error(`${generated} is over ${limit} characters: CloudFormation would shorten it`)
    return generated
  }
  const arn = (id: string): string => {
    const r = resource(id)
    switch (r.Type) {
      case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role/${name(id)}`
      case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name(id)}`
      case 'AWS::SNS::Topic': return `arn:aws:sns:${REGION}:${ACCOUNT}:${name(id)}`
      case 'AWS::Logs::LogGroup': return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name(id)}:*`
      case 'AWS::Serverless::Function': return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name(id)}`
      case 'AWS::SSM::Parameter': return `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name(id)}`
      case 'AWS::CloudWatch::Alarm': return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${value(r.Properties.AlarmName)}`
      case 'AWS::CloudWatch::Dashboard': return `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${value(r.Properties.DashboardName)}`
      default: throw new Error(`no ARN known for ${id} (${r.Type})`)
    }
  }
  const PSEUDO: Record<string, string> = { 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::StackName': stack, 'AWS::Partition': 'aws' }
  const ref = (id: string): string => {
    if (id in PSEUDO) return PSEUDO[id]
    const type = resource(id).Type
    if (type === 'AWS::SNS::Topic') return arn(id)
    if (type === 'AWS::Serverless::HttpApi') return 'a1b2c3d4e5'
    return name(id)
  }
  function value (v: unknown): string {
    if (typeof v === 'string') return v
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>
      if (typeof o.Ref === 'string') return ref(o.Ref)
      const getAtt = o['Fn::GetAtt']
      if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return arn(String(getAtt[0]))
      const sub = o['Fn::Sub']
      if (sub !== undefined) {
        const [text, vars] = (Array.isArray(sub) ? sub : [sub, {}]) as [string, Record<string, unknown>]
        return text.replace(/\$\{([\w:.]+)\}/g, (_m, key: string) =>
          key in vars ? value(vars[key]) : key.endsWith('.Arn') ? arn(key.slice(0, -'.Arn'.length)) : ref(key))
      }
    }
    throw new Error(`cannot resolve ${JSON.stringify(v)}`)
  }
  return { name, arn, ref, value }
}

interface Need { why: string; call: Call }
const needs = (why: string, actions: string[], resource: string, context?: Record<string, string>): Need[] =>
  actions.map(action => ({ why, call: { action, resource, ...(context && { context }) } }))

/** What `arc deploy` itself calls, besides CloudFormation's work on the resources (@architect/deploy src/sam/...). */
function architectNeeds (t: Template, stack: string): Need[] {
  const stackArn = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stack}/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`
  return [
    ...needs('bucket/index.js finds the deploy bucket', ['ssm:GetParametersByPath'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tanuki-sts/deploy`),
    ...needs('bucket/create-bucket.js records its name', ['ssm:PutParameter'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tanuki-sts/deploy/bucket`),
    ...needs('inventory reads arc env\'s configuration', ['ssm:GetParametersByPath'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tanuki-sts`),
    ...needs('the deploy bucket', ['s3:CreateBucket', 's3:ListBucket'], `arn:aws:s3:::${BUCKET}`),
    ...needs('the template and code uploaded, and read back by CloudFormation', ['s3:PutObject', 's3:GetObject'], `arn:aws:s3:::${BUCKET}/template.json`),
    ...needs('01-deploy creates or updates the stack', ['cloudformation:DescribeStacks', 'cloudformation:CreateStack', 'cloudformation:UpdateStack',
      'cloudformation:DescribeStackResources', 'cloudformation:ListStackResources', 'cloudformation:DescribeStackEvents'], stackArn),
    ...(t.Transform === 'AWS::Serverless-2016-10-31'
      ? needs('the template uses the SAM transform', ['cloudformation:CreateChangeSet'], `arn:aws:cloudformation:${REGION}:aws:transform/Serverless-2016-10-31`)
      : []),
    ...needs('02-after looks for a CloudFront distribution in front of the API', ['cloudfront:ListDistributions'], '*'),
  ]
}

/** CloudFormation's calls for each resource of the template (no service role: it acts with the deploy role's credentials). */
function resourceNeeds (t: Template, stack: string): Need[] {
  const r = resolver(t, stack)
  const boundaryOf = (roleId: string) => {
    const b = t.Resources[roleId]?.Properties.PermissionsBoundary
    return b === undefined ? undefined : { 'iam:PermissionsBoundary': r.value(b) }
  }
  return Object.entries(t.Resources).flatMap(([id, res]): Need[] => {
    const p = res.Properties
    const why = `${id} (${res.Type})`
    switch (res.Type) {
      case 'AWS::IAM::Role': return [
        ...needs(why, ['iam:CreateRole', ...(p.Policies ? ['iam:PutRolePolicy'] : [])], r.arn(id), boundaryOf(id)),
        ...needs(why, ['iam:GetRole', 'iam:DeleteRole', 'iam:UpdateAssumeRolePolicy', 'iam:TagRole', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies',
          ...(p.Policies ? ['iam:GetRolePolicy', 'iam:DeleteRolePolicy'] : [])], r.arn(id)),
      ]
      case 'AWS::IAM::Policy': return (p.Roles as unknown[]).flatMap(role => {
        const roleId = (role as { Ref: string }).Ref
        return [
          ...needs(why, ['iam:PutRolePolicy'], r.arn(roleId), boundaryOf(roleId)),
          ...needs(why, ['iam:GetRolePolicy', 'iam:DeleteRolePolicy'], r.arn(roleId)),
        ]
      })
      case 'AWS::Serverless::Function': {
        const events = Object.values((p.Events ?? {}) as Record<string, { Type: string; Properties: Record<string, unknown> }>)
        return [
          ...needs(why, ['lambda:CreateFunction', 'lambda:GetFunction', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration',
            'lambda:DeleteFunction', 'lambda:TagResource', 'lambda:AddPermission', 'lambda:RemovePermission'], r.arn(id)),
          ...needs(`${why}: its role`, ['iam:PassRole'], r.value(p.Role), { 'iam:PassedToService': 'lambda.amazonaws.com' }),
          ...events.filter(e => e.Type === 'SNS').flatMap(e => needs(`${why}: its subscription`,
            ['sns:Subscribe', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes'], r.value(e.Properties.Topic))),
        ]
      }
      case 'AWS::Serverless::HttpApi': return [
        ...needs(why, ['apigateway:POST'], `arn:aws:apigateway:${REGION}::/apis`),
        ...needs(why, ['apigateway:GET', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE'], `arn:aws:apigateway:${REGION}::/apis/${r.ref(id)}`),
        ...needs(why, ['apigateway:POST', 'apigateway:PATCH'], `arn:aws:apigateway:${REGION}::/apis/${r.ref(id)}/stages/$default`),
        ...(p.AccessLogSettings ? needs(`${why}: its access log`, ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies'], '*') : []),
      ]
      case 'AWS::DynamoDB::Table': return needs(why, ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTable', 'dynamodb:TagResource',
        'dynamodb:ListTagsOfResource', 'dynamodb:DescribeContinuousBackups', 'dynamodb:DescribeTimeToLive',
        ...(p.TimeToLiveSpecification ? ['dynamodb:UpdateTimeToLive'] : []),
        ...(p.PointInTimeRecoverySpecification ? ['dynamodb:UpdateContinuousBackups'] : [])], r.arn(id))
      case 'AWS::SNS::Topic': return needs(why, ['sns:CreateTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:DeleteTopic',
        'sns:TagResource', 'sns:ListTagsForResource'], r.arn(id))
      case 'AWS::SSM::Parameter': return needs(why, ['ssm:PutParameter', 'ssm:GetParameters', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'], r.arn(id))
      // The alarms' and the dashboard's handlers (their CloudFormation resource schemas' handler permissions).
      case 'AWS::CloudWatch::Alarm': return needs(why, ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms',
        'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'], r.arn(id))
      case 'AWS::CloudWatch::Dashboard': return needs(why, ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'], r.arn(id))
      case 'AWS::SNS::Subscription': return needs(why, ['sns:Subscribe', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes'], r.value(p.TopicArn))
      case 'AWS::Logs::LogGroup': return [
        ...needs(why, ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:TagResource', 'logs:ListTagsForResource',
          ...(p.RetentionInDays !== undefined ? ['logs:PutRetentionPolicy'] : [])], r.arn(id)),
        ...needs(why, ['logs:DescribeLogGroups'], `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*`),
      ]
      default: throw new Error(`the deploy role's needs for ${res.Type} (${id}) are not known here: add them, and to docs/policies/deploy-role.json`)
    }
  })
}

/** The deploy job's mappings step: the CLI finds the tables through SSM, then reads and writes the mappings table (src/cli/target.ts, mappings.ts). */
function mappingsStepNeeds (t: Template, stack: string): Need[] {
  const r = resolver(t, stack)
  return [
    ...needs('the mappings step finds the tables', ['ssm:GetParameters'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${stack}/tables/mappings`),
    ...needs('the mappings step finds the tables', ['ssm:GetParameters'], `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${stack}/tables/audit`),
    ...needs('the mappings step plans and applies', ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], r.arn('MappingsTable')),
  ]
}

/** The settings that ask more of the deploy role: log groups, the access log, and an e-mail subscription to the alarm topic. */
const LOG_SETTINGS = [['log-retention-days', '400'], ['access-log-retention-days', '90'], ['alarm-email', 'ops@example.com']]

test('each policy file is an IAM policy document: version, statements, actions, resources, the placeholder account', async t => {
  for (const name of ['deploy-role.json', 'deploy-role-bounded.json', 'boundary.json', 'issuer-keys-push.json']) {
    const doc = policy(name)
    t.deepEqual(grammarProblems(doc), [], `${name}: Version 2012-10-17, a Statement array of Effect, Action and Resource`)
    const accounts = [...JSON.stringify(doc).matchAll(/arn:aws:[a-z0-9-]+:[^:"]*:([^:"]*):/g)].map(m => m[1])
    t.deepEqual([...new Set(accounts)].filter(a => !['', ACCOUNT, 'aws', '*'].includes(a)), [], `${name}: every account is the placeholder ${ACCOUNT}, which the docs tell you to replace`)
  }
  // IAM's quotas: a role's inline policies together, 10,240 characters; a managed policy (the boundary), 6,144.
  t.ok(policySize(policy('deploy-role-bounded.json')) <= 10240, `the bounded deploy role fits a role's inline policies (${policySize(policy('deploy-role-bounded.json'))} characters)`)
  t.ok(policySize(policy('boundary.json')) <= 6144, `the boundary fits a managed policy (${policySize(policy('boundary.json'))} characters)`)
})

test('the bounded deploy role is the deploy role with CreateRole and PutRolePolicy moved behind the boundary, which it may not remove', async t => {
  const plain = policy('deploy-role.json').Statement
  const bounded = policy('deploy-role-bounded.json').Statement
  const bySid = (list: typeof plain) => new Map(list.map(s => [s.Sid, s]))
  const b = bySid(bounded)
  for (const s of plain) {
    if (s.Sid === 'LambdaRole') continue
    t.deepEqual(b.get(s.Sid), s, `${s.Sid}: unchanged`)
  }
  const lambdaRole = b.get('LambdaRole')
  const before = [plain.find(s => s.Sid === 'LambdaRole')?.Action ?? []].flat()
  t.deepEqual([lambdaRole?.Action ?? []].flat(), before.filter(a => a !== 'iam:CreateRole' && a !== 'iam:PutRolePolicy'), 'LambdaRole: the same, less CreateRole and PutRolePolicy')
  t.deepEqual([...b.keys()].filter(sid => !plain.some(s => s.Sid === sid)), ['BoundedLambdaRoles', 'KeepTheBoundary'], 'two statements added')
  t.deepEqual(b.get('BoundedLambdaRoles')?.Condition, { StringEquals: { 'iam:PermissionsBoundary': BOUNDARY } }, 'BoundedLambdaRoles: only with the boundary')
})

for (const stage of ['staging', 'production'] as const) {
  const stack = STACKS[stage]

  test(`${stage}: the deploy role may make every call arc deploy and CloudFormation make for this stack`, async t => {
    const tmpl = await template(stage, LOG_SETTINGS)
    const deployRole = [policy('deploy-role.json')]
    const all = [...architectNeeds(tmpl, stack), ...resourceNeeds(tmpl, stack), ...mappingsStepNeeds(tmpl, stack)]
    const refused = all.filter(n => decide(deployRole, n.call) !== 'allowed')
    t.deepEqual(refused.map(n => `${n.why}: ${n.call.action} on ${n.call.resource}`), [], `all ${all.length} calls allowed, on the names CloudFormation gives`)
    t.deepEqual([...new Set(Object.values(tmpl.Resources).map(r => r.Type))].sort(), [
      'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::DynamoDB::Table', 'AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::Logs::LogGroup',
      'AWS::SNS::Subscription', 'AWS::SNS::Topic', 'AWS::SSM::Parameter', 'AWS::Serverless::Function', 'AWS::Serverless::HttpApi',
    ], 'the kinds of resource the checks cover are the kinds the stack holds')
  })

  test(`${stage}: the deploy role can neither delete a table, nor write the audit trail, nor change the broker's configuration`, async t => {
    const tmpl = await template(stage, [])
    const r = resolver(tmpl, stack)
    const deployRole = [policy('deploy-role.json')]
    for (const table of ['MappingsTable', 'AuditTable']) {
      t.equal(decide(deployRole, { action: 'dynamodb:DeleteTable', resource: r.arn(table) }), 'denied', `${table}: DeleteTable is denied outright`)
    }
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      t.notEqual(decide(deployRole, { action, resource: r.arn('AuditTable') }), 'allowed', `${action} on the audit table: not allowed`)
    }
    for (const env of ['staging', 'production']) {
      t.notEqual(decide(deployRole, { action: 'ssm:PutParameter', resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tanuki-sts/${env}/BROKER_ISSUERS` }),
        'allowed', `arc env's /tanuki-sts/${env}/ stays read-only`)
    }
    t.notEqual(decide(deployRole, { action: 'iam:PassRole', resource: r.arn('Role'), context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
      'allowed', 'the stack\'s roles are passed to Lambda only')
  })

  test(`${stage}: bounded, the deploy role still deploys the stack, and only with the boundary on every role`, async t => {
    const tmpl = await template(stage, [...LOG_SETTINGS, ['permissions-boundary', BOUNDARY]])
    const bounded = [policy('deploy-role-bounded.json')]
    const all = [...architectNeeds(tmpl, stack), ...resourceNeeds(tmpl, stack), ...mappingsStepNeeds(tmpl, stack)]
    const refused = all.filter(n => decide(bounded, n.call) !== 'allowed')
    t.deepEqual(refused.map(n => `${n.why}: ${n.call.action} on ${n.call.resource}`), [], `all ${all.length} calls allowed`)
    const r = resolver(tmpl, stack)
    const roles = Object.keys(tmpl.Resources).filter(id => tmpl.Resources[id].Type === 'AWS::IAM::Role')
    for (const id of roles) {
      t.notEqual(decide(bounded, { action: 'iam:CreateRole', resource: r.arn(id) }), 'allowed', `${id}: no CreateRole without the boundary`)
      t.notEqual(decide(bounded, { action: 'iam:PutRolePolicy', resource: r.arn(id), context: { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Other` } }),
        'allowed', `${id}: no PutRolePolicy on a role with another boundary`)
      for (const action of ['iam:DeleteRolePermissionsBoundary', 'iam:PutRolePermissionsBoundary']) {
        t.equal(decide(bounded, { action, resource: r.arn(id) }), 'denied', `${id}: ${action} denied`)
      }
    }
    for (const action of ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicy']) {
      t.equal(decide(bounded, { action, resource: BOUNDARY }), 'denied', `the boundary itself: ${action} denied`)
    }
  })

  test(`${stage}: the boundary allows every call the stack's Lambdas make, and so do their own roles`, async t => {
    const tmpl = await template(stage, [['permissions-boundary', BOUNDARY]])
    const r = resolver(tmpl, stack)
    const boundary = policy('boundary.json')
    t.deepEqual(boundary.Statement.find(s => s.Sid === 'TargetRoles')?.Resource, targetRoles(), 'its target roles are app.arc\'s')
    /** A role's identity policies: its inline Policies and every AWS::IAM::Policy attached to it, resolved. */
    const roleDocs = (roleId: string): PolicyDocument[] => {
      const inline = (tmpl.Resources[roleId].Properties.Policies ?? []) as Array<{ PolicyDocument: PolicyDocument }>
      const attached = Object.values(tmpl.Resources).filter(x => x.Type === 'AWS::IAM::Policy' &&
        (x.Properties.Roles as Array<{ Ref: string }>).some(ref => ref.Ref === roleId)).map(x => ({ PolicyDocument: x.Properties.PolicyDocument as PolicyDocument }))
      return [...inline, ...attached].map(({ PolicyDocument: d }) => ({
        Statement: d.Statement.map(s => ({ ...s, Resource: [s.Resource].flat().map(res => r.value(res)) })),
      }))
    }
    const roleIdOf = (fn: string) => {
      const role = r.value(tmpl.Resources[fn].Properties.Role)
      const id = Object.keys(tmpl.Resources).find(x => tmpl.Resources[x].Type === 'AWS::IAM::Role' && r.arn(x) === role)
      if (!id) throw new Error(`${fn}: its role ${role} is not in the stack`)
      return id
    }
    // What the code calls at run time, by role (src/broker/mappings.ts, audit.ts, sts.ts, publish.ts, issued-log.ts).
    const target = (pattern: string) => pattern.replace(/\*/g, 'example')
    const consoleReads: Call[] = [
      ...['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'].map(action => ({ action, resource: r.arn('MappingsTable') })),
      ...['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'].map(action => ({ action, resource: r.arn('AuditTable') })),
      { action: 'dynamodb:Query', resource: `${r.arn('AuditTable')}/index/byProject` },
      // Explain verifies a pasted token with the stored issuer keys.
      ...['dynamodb:GetItem', 'dynamodb:BatchGetItem'].map(action => ({ action, resource: r.arn('IssuerKeysTable') })),
    ]
    const runtime: Record<string, Call[]> = {
      Role: [
        { action: 'dynamodb:BatchGetItem', resource: r.arn('MappingsTable') },
        ...['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'].map(action => ({ action, resource: r.arn('AuditTable') })),
        { action: 'sns:Publish', resource: r.arn('CredentialsIssuedEventTopic') },
        ...targetRoles().flatMap(role => ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'].map(action => ({ action, resource: target(role) }))),
      ],
      EventsRole: [{ action: 'dynamodb:UpdateItem', resource: r.arn('AuditTable') }],
      PlainRole: [],
      // The console (src/console): its pages list mappings and read the audit; its forms also put a mapping and its change record.
      ConsoleReadRole: consoleReads,
      ConsoleWriteRole: [
        ...consoleReads,
        { action: 'dynamodb:PutItem', resource: r.arn('MappingsTable') },
        ...['dynamodb:PutItem', 'dynamodb:UpdateItem'].map(action => ({ action, resource: r.arn('AuditTable') })),
      ],
    }
    const functions = Object.keys(tmpl.Resources).filter(id => tmpl.Resources[id].Type === 'AWS::Serverless::Function')
    t.ok(functions.length > 0, `${functions.length} functions`)
    for (const fn of functions) {
      const roleId = roleIdOf(fn)
      t.equal(tmpl.Resources[roleId].Properties.PermissionsBoundary, BOUNDARY, `${fn}: its role ${roleId} carries the boundary`)
      const group = `/aws/lambda/${r.name(fn)}`
      const calls: Call[] = [
        ...['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'].map(action => ({ action, resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:*` })),
        ...(runtime[roleId] ?? []),
      ]
      const refusedByRole = calls.filter(c => decide(roleDocs(roleId), c) !== 'allowed')
      t.deepEqual(refusedByRole.map(c => `${c.action} on ${c.resource}`), [], `${fn}: its role allows its ${calls.length} calls`)
      const refusedByBoundary = calls.filter(c => decide([boundary], c) !== 'allowed')
      t.deepEqual(refusedByBoundary.map(c => `${c.action} on ${c.resource}`), [], `${fn}: the boundary allows them too`)
    }
    t.notEqual(decide([boundary], { action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole` }), 'allowed',
      'the boundary allows no role outside target-roles')
  })

  test(`${stage}: the boundary allows the log groups of log-retention-days`, async t => {
    const tmpl = await template(stage, [...LOG_SETTINGS, ['permissions-boundary', BOUNDARY]])
    const r = resolver(tmpl, stack)
    const groups = Object.keys(tmpl.Resources).filter(id => tmpl.Resources[id].Type === 'AWS::Logs::LogGroup' && id !== 'HttpAccessLogs')
    t.ok(groups.length > 0, `${groups.length} function log groups`)
    for (const id of groups) {
      t.equal(decide([policy('boundary.json')], { action: 'logs:PutLogEvents', resource: r.arn(id) }), 'allowed', `${id}: PutLogEvents allowed`)
    }
  })

  test(`${stage}: pushing issuer keys needs the issuer-keys policy, which reaches that table alone; the deploy role cannot`, async t => {
    const tmpl = await template(stage, [])
    const r = resolver(tmpl, stack)
    const push = [policy('issuer-keys-push.json')]
    // What `issuers keys push | list | show` call (src/cli/target.ts reads the three names in one GetParameters; src/broker/issuer-keys.ts).
    const calls: Call[] = [
      ...['mappings', 'audit', 'issuer-keys'].map(name => ({ action: 'ssm:GetParameters', resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${stack}/tables/${name}` })),
      ...['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'].map(action => ({ action, resource: r.arn('IssuerKeysTable') })),
    ]
    t.deepEqual(calls.filter(c => decide(push, c) !== 'allowed').map(c => `${c.action} on ${c.resource}`), [], `the push policy allows the commands' ${calls.length} calls`)
    for (const table of ['MappingsTable', 'AuditTable']) {
      for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:DeleteItem']) {
        t.notEqual(decide(push, { action, resource: r.arn(table) }), 'allowed', `the push policy: no ${action} on ${table}`)
      }
    }
    t.notEqual(decide(push, { action: 'dynamodb:DeleteItem', resource: r.arn('IssuerKeysTable') }), 'allowed', 'the push policy: no DeleteItem on the keys')
    for (const name of ['deploy-role.json', 'deploy-role-bounded.json']) {
      t.notEqual(decide([policy(name)], { action: 'dynamodb:PutItem', resource: r.arn('IssuerKeysTable') }), 'allowed', `${name}: no PutItem on the issuer-keys table`)
    }
  })

  test(`${stage}: the stack policy guards exactly the stack's tables`, async t => {
    const tmpl = await template(stage, [])
    const stackPolicy = JSON.parse(readFileSync(join(ROOT, 'docs', 'policies', 'stack-policy.json'), 'utf8')) as
      { Statement: Array<{ Effect: string; Principal: string; Action: string | string[]; Resource: string | string[] }> }
    const tables = Object.keys(tmpl.Resources).filter(id => tmpl.Resources[id].Type === 'AWS::DynamoDB::Table').sort()
    const deny = stackPolicy.Statement.filter(s => s.Effect === 'Deny')
    t.equal(deny.length, 1, 'one Deny statement')
    t.deepEqual([deny[0]?.Resource].flat().sort(), tables.map(id => `LogicalResourceId/${id}`), `it names every table: ${tables.join(', ')}`)
    t.deepEqual([deny[0]?.Action].flat().sort(), ['Update:Delete', 'Update:Replace'], 'against replacing or deleting them')
    t.ok(stackPolicy.Statement.some(s => s.Effect === 'Allow' && s.Action === 'Update:*' && s.Resource === '*'), 'every other update allowed')
    t.ok(stackPolicy.Statement.every(s => s.Principal === '*'), 'Principal "*", as stack policies require')
  })
}

test('the bootstrap role trusts GitLab\'s OIDC provider for the audience the bootstrap job asks for', async t => {
  const trust = JSON.parse(readFileSync(join(ROOT, 'docs', 'policies', 'bootstrap-role-trust.json'), 'utf8')) as {
    Version: string; Statement: Array<{ Effect: string; Principal: { Federated: string }; Action: string; Condition: { StringEquals: Record<string, string> } }>
  }
  t.equal(trust.Version, '2012-10-17', 'Version 2012-10-17')
  t.equal(trust.Statement.length, 1, 'one statement')
  const s = trust.Statement[0]
  t.equal(s.Action, 'sts:AssumeRoleWithWebIdentity', 'AssumeRoleWithWebIdentity')
  const provider = /^arn:aws:iam::\d{12}:oidc-provider\/(.+)$/.exec(s.Principal.Federated)?.[1]
  t.ok(provider, `an OIDC provider (${provider})`)
  const job = (parse(docSnippet('bootstrap-job')) as Record<string, { id_tokens: Record<string, { aud: string }> }>)['bootstrap-production']
  const aud = Object.values(job.id_tokens)[0]?.aud
  t.equal(s.Condition.StringEquals[`${provider}:aud`], aud, `its aud condition is the job's ID token audience (${aud})`)
  t.match(s.Condition.StringEquals[`${provider}:sub`], /^project_path:[^:]+:ref_type:branch:ref:[^:*]+$/, 'its sub condition names one project and one branch, no wildcard')
})
