// The Lambdas' metrics: the EMF lines (CloudWatch embedded metric format) the credentials and event Lambdas print on
// sandbox, read back and checked figure by figure, each line against the format's rules; then, with the broker built in
// this process as composeBroker builds it, the failures sandbox cannot stage (the audit write, the publish), per-project
// dimensions, and metrics turned off. No line ever holds a token or a secret.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { STSClient } from '@aws-sdk/client-sts'
import test from 'tape'
import { loadMetricsSettings } from '../../src/broker/emf'
import { composeBroker } from '../../src/broker/compose'
import type { Seams } from '../../src/broker/compose'
import { createCredentialsHandler } from '../../src/broker/http'
import { ROLE_ARN, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { apiEvent, brokerVars } from '../security/helpers/harness'

let env: BrokerEnv
const secrets = new Set<string>()

type Emf = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> } }

/** Problems with a line as the EMF specification reads it (empty: a valid line). */
function emfProblems (line: Emf): string[] {
  const problems: string[] = []
  const aws = line._aws
  if (!Number.isInteger(aws?.Timestamp)) problems.push('_aws.Timestamp is not epoch milliseconds')
  if (!Array.isArray(aws?.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) problems.push('no CloudWatchMetrics')
  for (const d of aws?.CloudWatchMetrics ?? []) {
    if (!/^[A-Za-z0-9.\-_/#:]{1,255}$/.test(d.Namespace)) problems.push(`namespace ${d.Namespace}`)
    if (d.Metrics.length > 100) problems.push('more than 100 metrics in a directive')
    for (const set of d.Dimensions) {
      if (set.length > 30) problems.push('more than 30 dimensions in a set')
      for (const key of set) if (typeof line[key] !== 'string' || (line[key] as string).length === 0 || (line[key] as string).length > 1024) problems.push(`dimension ${key} is not a string value`)
    }
    for (const m of d.Metrics) {
      if (typeof line[m.Name] !== 'number') problems.push(`metric ${m.Name} has no number`)
      if (!['Count', 'Milliseconds'].includes(m.Unit)) problems.push(`metric ${m.Name}: unit ${m.Unit}`)
    }
  }
  return problems
}

const parse = (lines: readonly string[]): Emf[] => lines.filter(l => l.startsWith('{"_aws":')).map(l => JSON.parse(l) as Emf)
/** Metric names, each with its dimension sets as `Name[Dim,Dim]`, sorted: what CloudWatch makes of a line. */
const metricsOf = (line: Emf) => line._aws.CloudWatchMetrics.flatMap(d => d.Metrics.flatMap(m => d.Dimensions.map(set => `${m.Name}[${set.join(',')}]`))).sort()

/** The credentials Lambda's line for the next request sent, once sandbox has relayed it. */
async function lineFor (send: () => Promise<Response>): Promise<{ status: number; line?: Emf }> {
  const mark = env.logs.length
  const res = await send()
  const text = await res.text()
  try {
    const body = JSON.parse(text) as Record<string, unknown>
    for (const key of ['SecretAccessKey', 'SessionToken', 'Token']) if (typeof body[key] === 'string') secrets.add(body[key] as string)
  }
  catch { /* an error body */ }
  const line = await eventually(async () => parse(env.logs.slice(mark)).find(l => String(l.Function).endsWith('-credentials')))
  return { status: res.status, line }
}

async function post (token: string | undefined, query = 'role=deploy'): Promise<{ status: number; line?: Emf }> {
  if (token) secrets.add(token)
  return lineFor(() => fetch(`${env.url}/credentials?${query}`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }))
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  await env.putMapping({ scope: `${env.issuer.url}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  t.plan(1)
  t.ok(env.url, 'sandbox, the local issuer and the local STS are up, with a deploy mapping for acme/payments/api on main')
})

test('an issuance: Requests, Issued by role, latency, no failures, and the Lambda\'s cold start', async t => {
  const { status, line } = await post(await env.mint())
  t.plan(8)
  t.equal(status, 200, 'issued')
  t.deepEqual(emfProblems(line!), [], 'a valid EMF line')
  t.equal(line?._aws.CloudWatchMetrics[0].Namespace, 'TanukiSts', 'in the TanukiSts namespace (the deploy plugin adds the stack name)')
  t.deepEqual(metricsOf(line!), ['AuditFailures[Function]', 'AuditFailures[]', 'ColdStart[Function]', 'Issued[Role]', 'Issued[]', 'Latency[Outcome]', 'Latency[]',
    'PublishFailures[Function]', 'PublishFailures[]', 'Requests[Outcome]', 'Requests[]', 'ServerErrors[Function]', 'ServerErrors[]'], 'the metrics and their dimensions')
  t.deepEqual([line?.Function, line?.Outcome, line?.Role, line?.Requests, line?.Issued, line?.ServerErrors, line?.AuditFailures, line?.PublishFailures],
    ['post-credentials', 'issued', 'deploy', 1, 1, 0, 0, 0], 'post-credentials issued one for deploy, nothing failed')
  t.ok(typeof line?.Latency === 'number' && line.Latency > 0, `latency ${String(line?.Latency)} ms`)
  t.equal(line?.ColdStart, 1, 'a cold start (sandbox starts every invocation afresh)')
  t.notOk('Project' in (line ?? {}), 'no Project dimension unless an admin turns it on')
})

test('the event Lambda: one line per invocation, the events it handled', async t => {
  const mark = env.logs.length
  await post(await env.mint())
  const line = await eventually(async () => parse(env.logs.slice(mark)).find(l => l.Function === 'credentials-issued'))
  t.plan(3)
  t.deepEqual(emfProblems(line!), [], 'a valid EMF line')
  t.deepEqual(metricsOf(line!), ['AuditFailures[Function]', 'AuditFailures[]', 'ColdStart[Function]', 'EventsHandled[]', 'EventsRefused[]'], 'its metrics')
  t.deepEqual([line?.EventsHandled, line?.EventsRefused, line?.AuditFailures], [1, 0, 0], 'one event handled, the audit record annotated')
})

test('GET /credentials counts as get-credentials', async t => {
  const token = await env.mint()
  secrets.add(token)
  const { status, line } = await lineFor(() => fetch(`${env.url}/credentials?role=deploy`, { headers: { authorization: token } }))
  t.plan(2)
  t.equal(status, 200, 'issued in the container format')
  t.deepEqual([line?.Function, line?.Outcome, line?.Issued], ['get-credentials', 'issued', 1], 'by the GET Lambda')
})

test('denials: by the condition that denied, and a role no mapping names counted as "unmapped"', async t => {
  const ref = await post(await env.mint({ ref: 'feature' }))
  const unmapped = await post(await env.mint(), 'role=no-such-role-a1b2c3')
  t.plan(5)
  t.deepEqual([ref.status, ref.line?.Outcome, ref.line?.Denied, ref.line?.Condition, ref.line?.Role], [403, 'denied', 1, 'ref', 'deploy'], 'denied by ref, for deploy')
  t.deepEqual(metricsOf(ref.line!).filter(m => m.startsWith('Denied')), ['Denied[Condition]', 'Denied[Role]', 'Denied[]'], 'Denied, by condition and by role')
  t.equal(ref.line?.ServerErrors, 0, 'a denial is no server error')
  t.deepEqual([unmapped.status, unmapped.line?.Condition, unmapped.line?.Role], [403, 'mapping', 'unmapped'], 'no mapping: the role is "unmapped", never the requested name')
  t.notOk(JSON.stringify(unmapped.line).includes('no-such-role-a1b2c3'), 'the requested name is nowhere in the line')
})

test('refused tokens, by reason', async t => {
  const valid = await env.mint()
  const [header, payload, signature] = valid.split('.')
  const forged = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`
  const cases: Array<[string, string | undefined]> = [
    ['expired', await env.mint({}, { iat: Math.floor(Date.now() / 1000) - 3600, expiresIn: 300 })],
    ['audience', await env.mint({}, { audience: 'https://elsewhere.example' })],
    ['untrusted_issuer', await env.mint({ iss: 'https://gitlab.example.com' })],
    ['signature', forged],
    ['missing', undefined],
    ['malformed', 'not-a-jwt'],
  ]
  t.plan(cases.length * 2)
  for (const [reason, token] of cases) {
    const { status, line } = await post(token)
    t.deepEqual([status, line?.Outcome, line?.TokenRefused, line?.Reason], [401, 'refused', 1, reason], `${reason}: TokenRefused, Reason ${reason}`)
    t.deepEqual(metricsOf(line!).filter(m => m.startsWith('TokenRefused')), ['TokenRefused[Reason]', 'TokenRefused[]'], `${reason}: by reason and in all`)
  }
})

test('upstream errors, by STS\'s code', async t => {
  env.sts.injectFault({ action: 'AssumeRole', status: 403, code: 'AccessDenied', times: 1 })
  const denied = await post(await env.mint())
  env.sts.injectFault({ action: 'AssumeRole', status: 400, code: 'Throttling', times: Infinity })
  const throttled = await post(await env.mint())
  env.sts.clearFaults()
  t.plan(3)
  t.deepEqual([denied.status, denied.line?.Outcome, denied.line?.UpstreamErrors, denied.line?.StsCode, denied.line?.ServerErrors], [502, 'error', 1, 'AccessDenied', 1],
    'STS AccessDenied: an upstream error and a server error')
  t.deepEqual([throttled.status, throttled.line?.StsCode], [502, 'Throttling'], 'STS throttling on every attempt: StsCode Throttling')
  t.deepEqual(metricsOf(denied.line!).filter(m => m.startsWith('Upstream')), ['UpstreamErrors[StsCode]', 'UpstreamErrors[]'], 'by code and in all')
})

test('every EMF line on sandbox is valid, and holds no token, secret key or session token', async t => {
  const lines = parse(env.logs)
  const text = lines.map(l => JSON.stringify(l))
  const known = new Set(['_aws', 'requestId', 'Function', 'Outcome', 'Role', 'Condition', 'Reason', 'StsCode', 'Project', 'Requests', 'Latency', 'ServerErrors',
    'AuditFailures', 'PublishFailures', 'Issued', 'Denied', 'TokenRefused', 'UpstreamErrors', 'ColdStart', 'EventsHandled', 'EventsRefused'])
  t.plan(4)
  t.ok(lines.length >= 15, `${lines.length} lines`)
  t.deepEqual(lines.flatMap(emfProblems), [], 'all valid')
  t.deepEqual([...new Set(lines.flatMap(l => Object.keys(l)).filter(k => !known.has(k)))], [], 'no field but the metrics, their dimensions and the request id')
  t.deepEqual([...secrets].filter(s => s.length >= 16 && text.some(l => l.includes(s))), [], `none of the ${secrets.size} tokens and secrets used or issued is in any`)
})

// ---- In this process, as composeBroker builds the broker: what sandbox cannot stage -------------------------------

/** Runs a handler on one request, with console.log captured: its EMF line. */
async function inProcess (options: Omit<Seams, 'metrics'>, settings = loadMetricsSettings({}), query = 'role=deploy'): Promise<{ status: number; lines: Emf[] }> {
  // The publisher is always given here: the topic is named only because composeBroker requires one outside sandbox.
  const vars = brokerVars(env, { BROKER_EVENTS_TOPIC: 'arn:aws:sns:us-east-1:000000000000:unused' })
  const handler = createCredentialsHandler('POST', metrics => composeBroker(vars, { publish: async () => {}, ...options, metrics }).exchange, settings)
  const token = await env.mint()
  secrets.add(token)
  const lines: string[] = []
  const { log, error } = console
  console.log = console.error = (...args: unknown[]) => { if (typeof args[0] === 'string') lines.push(args[0]) }
  try {
    const result = await handler(apiEvent('POST', query, `Bearer ${token}`))
    return { status: result.statusCode, lines: parse(lines) }
  }
  finally { Object.assign(console, { log, error }) }
}

/** DynamoDB PutItem on the audit table fails, as a throttled or unavailable table's would (after the SDK's retries). */
function auditWritesFail (client: DynamoDBClient | STSClient): void {
  if (!('middlewareStack' in client) || !(client.config as { serviceId?: string }).serviceId?.startsWith('DynamoDB')) return
  (client as DynamoDBClient).middlewareStack.add((next, context) => async args => {
    if (context.commandName === 'PutItemCommand') throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' })
    return next(args)
  }, { step: 'initialize', name: 'auditWritesFail' })
}

test('an audit write that fails: AuditFailures and a server error, nothing issued', async t => {
  const { status, lines } = await inProcess({ instrument: auditWritesFail })
  t.plan(2)
  t.equal(status, 503, 'unavailable')
  t.deepEqual(lines.map(l => [l.Outcome, l.AuditFailures, l.ServerErrors]), [['error', 1, 1]], 'one line: AuditFailures 1, ServerErrors 1')
})

test('a publish that fails: PublishFailures, the credentials still issued', async t => {
  const { status, lines } = await inProcess({ publish: async () => { throw new Error('SNS Publish answered 500') } })
  t.plan(2)
  t.equal(status, 200, 'issued')
  t.deepEqual(lines.map(l => [l.Outcome, l.Issued, l.PublishFailures, l.ServerErrors]), [['issued', 1, 1, 0]], 'one line: Issued 1, PublishFailures 1')
})

test('per-project dimensions only when turned on (BROKER_METRICS_PER_PROJECT), and no line at all with BROKER_METRICS off', async t => {
  const on = await inProcess({}, loadMetricsSettings({ BROKER_METRICS_PER_PROJECT: 'on', BROKER_METRICS_NAMESPACE: 'TanukiSts/TanukiStsProduction' }))
  const denied = await inProcess({}, loadMetricsSettings({ BROKER_METRICS_PER_PROJECT: 'on' }), 'role=no-such-role')
  const off = await inProcess({}, loadMetricsSettings({ BROKER_METRICS: 'off' }))
  t.plan(5)
  t.deepEqual([on.lines[0]?.Project, metricsOf(on.lines[0]).filter(m => m.startsWith('Issued'))], ['acme/payments/api', ['Issued[Project]', 'Issued[Role]', 'Issued[]']],
    'Issued by project too')
  t.equal(on.lines[0]?._aws.CloudWatchMetrics[0].Namespace, 'TanukiSts/TanukiStsProduction', 'in the namespace set')
  t.deepEqual([denied.lines[0]?.Project, denied.lines[0]?.Condition], ['acme/payments/api', 'mapping'], 'a denial by project too (a verified token\'s project)')
  t.equal(off.status, 200, 'metrics off: still issued')
  t.deepEqual(off.lines, [], 'and no EMF line')
})

test('Teardown', async t => {
  await env.stop()
  t.plan(1)
  t.pass('sandbox, local issuer and local STS stopped')
})
