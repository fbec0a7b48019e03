// Faults injected while the broker runs: STS throttling, 5xx, refusals and unreachability (sandbox and in-process),
// the audit write failing after the mapping read, the JWKS endpoint down, the event bus failing or hanging.
// Each answer is the contract's code, and no credentials ever leave without a durable audit record.
import arc from '@architect/functions'
import test from 'tape'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createAuditStore } from '../../src/broker/audit'
import type { AuditRecord } from '../../src/broker/audit'
import { createDynamoClient } from '../../src/broker/dynamo'
import type { IssuedEvent } from '../../src/broker/exchange'
import { recordIssuedEvent } from '../../src/broker/issued-log'
import { log } from '../../src/broker/log'
import { ROLE_ARN, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { call, captured, closedPort, eventBus, fresh, inProcess, silentServer } from './helpers/harness'
import type { Answer } from '../helpers/post'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()
let scope: string
const mapping = (extra: Record<string, unknown> = {}) => ({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' }, ...extra })

/** The audit record of an answer: by IssuanceId for a 200, else the only record of the token's request. */
async function recordOf (r: Answer): Promise<AuditRecord | undefined> {
  const records = await env.auditRecords()
  return typeof r.body.IssuanceId === 'string' ? records.find(a => a.issuanceId === r.body.IssuanceId) : records.at(-1)
}

/** Credentials that work: GetCallerIdentity on the local STS, which checks their SigV4 signature. */
async function works (r: Answer): Promise<boolean> {
  const sts = new STSClient({
    region: 'us-east-1', endpoint: env.sts.url,
    credentials: { accessKeyId: String(r.body.AccessKeyId), secretAccessKey: String(r.body.SecretAccessKey), sessionToken: String(r.body.SessionToken) },
  })
  try { return (await sts.send(new GetCallerIdentityCommand({}))).Arn === r.body.AssumedRoleArn }
  finally { sts.destroy() }
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  scope = `${env.issuer.url}/acme/payments/api`
  t.ok(env.url, `broker running at ${env.url}`)
})

// ---- STS, through the sandbox Lambda ---------------------------------------------------------------------------------

interface StsCase { name: string; fault: { status: number; code: string; message?: string; times: number }; status: number; calls: number; message?: RegExp; not?: RegExp }
const STS_CASES: StsCase[] = [
  { name: 'Throttling twice, then an answer', fault: { status: 400, code: 'Throttling', times: 2 }, status: 200, calls: 3 },
  { name: 'Throttling on every attempt', fault: { status: 400, code: 'Throttling', times: Infinity }, status: 502, calls: 3, message: /: Throttling \(Rate exceeded\)$/ },
  { name: 'a 503 once, then an answer', fault: { status: 503, code: 'ServiceUnavailable', times: 1 }, status: 200, calls: 2 },
  { name: 'a 500 on every attempt', fault: { status: 500, code: 'InternalFailure', times: Infinity }, status: 502, calls: 3, message: /: InternalFailure \(/ },
  { name: 'AccessDenied (the role does not trust the broker)', fault: { status: 403, code: 'AccessDenied', times: 1 }, status: 502, calls: 1, message: /: AccessDenied \(User is not authorized/ },
  {
    name: 'MalformedPolicyDocument (a modelled error: the SDK names it ...Exception)',
    fault: { status: 400, code: 'MalformedPolicyDocument', message: 'The policy is not in the valid JSON format.', times: 1 },
    status: 502, calls: 1, message: /: MalformedPolicyDocument \(The policy is not in the valid JSON format\.\)$/, not: /MalformedPolicyDocumentException/,
  },
  { name: 'PackedPolicyTooLarge', fault: { status: 400, code: 'PackedPolicyTooLarge', message: 'Packed policy consumes 120% of allotted space', times: 1 }, status: 502, calls: 1, message: /: PackedPolicyTooLarge \(Packed policy/, not: /Exception/ },
]

for (const c of STS_CASES) {
  test(`STS ${c.name}: ${c.status}${c.status === 200 ? ' after retries' : ' upstream_error'}`, async t => {
    await fresh(env, witness, mapping())
    env.sts.injectFault({ action: 'AssumeRole', ...c.fault })
    const started = Date.now()
    const r = await call(env, witness, { token: await env.mint() })
    t.equal(r.status, c.status, `answered ${c.status} in ${Date.now() - started} ms`)
    t.equal(env.sts.calls.AssumeRole, c.calls, `after ${c.calls} AssumeRole attempt(s) (retries bounded)`)
    const record = await recordOf(r)
    if (c.status === 200) {
      t.equal(record?.outcome, 'issued', 'the issuance has its audit record')
      t.ok(await works(r), 'and the credentials work')
      return
    }
    t.equal(r.body.error, 'upstream_error', 'upstream_error')
    t.match(String(r.body.message), new RegExp(`: ${c.fault.code}$`), 'the message names STS\'s error code, and only that')
    if (c.message) t.match(String(record?.reason), c.message, 'the audit reason keeps STS\'s own message')
    if (c.not) t.doesNotMatch(String(r.body.message), c.not, 'as STS names it, not as the SDK\'s exception class')
    t.equal(record?.outcome, 'failed', 'the reserved audit record is marked failed')
    t.match(String(record?.reason), /^STS refused AssumeRole/, 'with STS\'s answer as the reason')
    t.equal(env.sts.issued.length, 0, 'no credentials exist')
  })
}

test('STS unreachable (in-process, connection refused): 502, the record marked failed', async t => {
  await fresh(env, witness, mapping())
  const broker = await inProcess(env, witness, { vars: { BROKER_STS_ENDPOINT: `http://127.0.0.1:${await closedPort()}` } })
  const r = await broker.handle({ token: await env.mint() })
  t.equal(r.status, 502, '502')
  t.equal(r.body.error, 'upstream_error', 'upstream_error')
  t.match(String(r.body.message), /STS could not be reached; no credentials were issued/, 'says STS could not be reached')
  t.equal((await recordOf(r))?.outcome, 'failed', 'the reserved audit record is marked failed')
})

// ---- DynamoDB faults inside AWS's client -------------------------------------------------------------------------

/** The broker's DynamoDB client, with a middleware that breaks one command on one table, and counts every command. */
function faultyDb (fault: 'unreachable' | 'hung' | 'missing table', table: string, command = 'PutItemCommand', hungPort = 0): Promise<{ db: DynamoDBClient; sent: Record<string, number>; refused: { attempts: number } }> {
  return closedPort().then(closed => {
    const port = fault === 'hung' ? hungPort : closed
    const db = createDynamoClient({ region: 'us-east-1', endpoint: `http://localhost:${env.tablesPort}` })
    const sent: Record<string, number> = {}
    const refused = { attempts: 0 }
    db.middlewareStack.add((next, context) => async args => {
      const name = context.commandName ?? '?'
      sent[name] = (sent[name] ?? 0) + 1
      const input = args.input as { TableName?: string }
      if (name === command && input.TableName === table && fault === 'missing table') input.TableName = `${table}-deleted`
      return next(args)
    }, { step: 'initialize', name: 'faultInput' })
    db.middlewareStack.add(next => async args => {
      const input = args.input as { TableName?: string; RequestItems?: Record<string, unknown> }
      const request = args.request as { port?: number; headers?: Record<string, string> }
      const touches = input.TableName === table || (input.RequestItems !== undefined && table in input.RequestItems)
      // Each attempt (the SDK retries) goes to a port nobody listens on (ECONNREFUSED, from the SDK's own handler),
      // or to a server that accepts and never answers.
      if (fault !== 'missing table' && touches && request.headers?.['x-amz-target'] === `DynamoDB_20120810.${command.replace(/Command$/, '')}`) {
        request.port = port
        refused.attempts++
      }
      return next(args)
    }, { step: 'finalizeRequest', name: 'faultNetwork' })
    return { db, sent, refused }
  })
}

for (const fault of ['unreachable', 'missing table'] as const) {
  test(`the audit write fails after the mapping read (${fault}): 503, no STS call, no credentials`, async t => {
    await fresh(env, witness, mapping())
    const { db, sent, refused } = await faultyDb(fault, env.tables.audit)
    const broker = await inProcess(env, witness, { db })
    const r = await broker.handle({ token: await env.mint() })
    t.equal(r.status, 503, '503')
    t.equal(r.body.error, 'unavailable', 'unavailable')
    t.match(String(r.body.message), /audit table could not be reached; no credentials were issued/, 'says no credentials were issued')
    t.equal(sent.BatchGetItemCommand, 1, 'the mapping was read')
    t.equal(sent.PutItemCommand, 1, fault === 'unreachable' ? `the audit write was tried (${refused.attempts} attempts, each refused)` : 'the audit write was tried (ResourceNotFoundException)')
    t.equal(env.sts.calls.AssumeRole, 0, 'STS was never called')
    t.deepEqual(await env.auditRecords(), [], 'nothing was recorded')
    t.ok(witness.lines.some(l => l.includes('"status":503') && l.includes('audit table')), 'the failure is logged')
  })
}

test('the audit write fails for a maxUses mapping and for a denial: 503, never 200 or 403', async t => {
  await fresh(env, witness, mapping({ maxUses: 2 }))
  const { db } = await faultyDb('unreachable', env.tables.audit)
  const broker = await inProcess(env, witness, { db })
  t.equal((await broker.handle({ token: await env.mint() })).status, 503, 'maxUses: the use reservation cannot be written, 503')
  t.equal((await broker.handle({ token: await env.mint({ ref: 'develop' }) })).status, 503, 'a denial that cannot be audited: 503')
  t.equal(env.sts.calls.AssumeRole, 0, 'STS was never called')
})

test('the mapping read fails (unreachable): 503, nothing recorded', async t => {
  // A cold container reads its mappings with its issuer's keys, in one BatchGetItem: the answer names both tables.
  await fresh(env, witness, mapping())
  const { db } = await faultyDb('unreachable', env.tables.mappings, 'BatchGetItemCommand')
  const broker = await inProcess(env, witness, { db })
  const r = await broker.handle({ token: await env.mint() })
  t.equal(r.status, 503, '503')
  t.match(String(r.body.message), /mappings and issuer-keys tables could not be reached/, 'names the tables')
  t.deepEqual(await env.auditRecords(), [], 'nothing was recorded')
})

test('STS or DynamoDB accepts the connection and never answers: 502 or 503 well within the Lambda\'s 15 s', async t => {
  await fresh(env, witness, mapping())
  const hung = await silentServer()
  try {
    const stsHung = await inProcess(env, witness, { vars: { BROKER_STS_ENDPOINT: `http://127.0.0.1:${hung.port}` } })
    const auditHung = await inProcess(env, witness, { db: (await faultyDb('hung', env.tables.audit, 'PutItemCommand', hung.port)).db })
    const started = Date.now()
    const [sts, dynamo] = await Promise.all([
      stsHung.handle({ token: await env.mint() }).then(r => ({ r, took: Date.now() - started })),
      auditHung.handle({ token: await env.mint() }).then(r => ({ r, took: Date.now() - started })),
    ])
    // app.arc gives the Lambda 15 s: past it API Gateway answers instead (not the contract) and the record stays "issued".
    t.equal(sts.r.status, 502, `STS hung: 502 upstream_error after ${sts.took} ms (3 attempts of 3 s)`)
    // No timing threshold here (timings live in bench/): that a silent STS gets an answer at all shows the timeouts are enforced.
    t.equal((await recordOf(sts.r))?.outcome, 'failed', 'STS hung: the reserved audit record is marked failed')
    t.equal(dynamo.r.status, 503, `audit write hung: 503 unavailable after ${dynamo.took} ms`)
    t.equal(env.sts.calls.AssumeRole, 0, 'the local STS saw no AssumeRole from either')
  }
  finally { await hung.close() }
})

// ---- The issuer's JWKS -------------------------------------------------------------------------------------------

test('the JWKS endpoint goes down: known keys still verify, warm or cold; only a broker with no keys stored answers 503', async t => {
  await fresh(env, witness, mapping())
  await env.forgetIssuerKeys()
  const warm = await inProcess(env, witness)
  t.equal((await warm.handle({ token: await env.mint() })).status, 200, 'a warm broker issues (keys fetched, kept and stored)')
  env.issuer.setMode('jwks-down')
  try {
    t.equal((await warm.handle({ token: await env.mint() })).status, 200, 'JWKS down: the warm broker still issues from its keys')
    t.deepEqual(warm.verifier.stats, { discovery: 1, jwks: 1 }, 'without fetching again')
    const cold = await inProcess(env, witness)
    t.equal((await cold.handle({ token: await env.mint() })).status, 200, 'a cold broker issues with the keys from the table')
    t.deepEqual(cold.verifier.stats, { discovery: 0, jwks: 0 }, 'without asking the issuer')
    await env.forgetIssuerKeys()
    const bare = await inProcess(env, witness)
    const r = await bare.handle({ token: await env.mint() })
    t.equal(r.status, 503, 'a cold broker with no keys stored: 503')
    t.equal(r.body.error, 'unavailable', 'unavailable, not invalid_token')
  }
  finally { env.issuer.setMode('normal') }
})

// ---- The event bus -------------------------------------------------------------------------------------------------

for (const mode of ['fail', 'hang'] as const) {
  test(`the credentials-issued publish ${mode === 'fail' ? 'fails' : 'hangs'}: credentials still issued, the audit record already durable, the failure logged`, async t => {
    await fresh(env, witness, mapping())
    const bus = await eventBus()
    const broker = await inProcess(env, witness)
    bus.setMode(mode)
    const started = Date.now()
    let r: Answer
    try { r = await broker.handle({ token: await env.mint() }) }
    finally { bus.setMode('ok') }
    t.equal(r.status, 200, `200 in ${Date.now() - started} ms`)
    t.ok(await works(r), 'the credentials work')
    t.equal((await recordOf(r))?.outcome, 'issued', 'the issuance\'s audit record exists')
    const line = witness.lines.find(l => l.includes('credentials-issued event not published') && l.includes(String(r.body.IssuanceId)))
    t.ok(line, 'the failed publish is logged with the IssuanceId')
  })
}

test('the published event carries the audit record and the AccessKeyId, never a secret', async t => {
  await fresh(env, witness, mapping())
  const bus = await eventBus()
  const before = bus.events.length
  const r = await (await inProcess(env, witness)).handle({ token: await env.mint() })
  const event = bus.events.slice(before).find(e => (e as { issuanceId?: string }).issuanceId === r.body.IssuanceId) as Record<string, unknown> | undefined
  t.equal(event?.accessKeyId, r.body.AccessKeyId, 'the event names the AccessKeyId')
  t.notOk(JSON.stringify(event).includes(String(r.body.SecretAccessKey)) || JSON.stringify(event).includes(String(r.body.SessionToken)), 'but not the secret key or session token')
})

test('the event Lambda completes only the issuance its event names: a repeat is harmless, an event naming another record or AccessKeyId changes nothing', async t => {
  await fresh(env, witness, mapping())
  const bus = await eventBus()
  const before = bus.events.length
  const broker = await inProcess(env, witness)
  const first = await broker.handle({ token: await env.mint() })
  const second = await broker.handle({ token: await env.mint({ job_id: '7001' }) })
  const denied = await broker.handle({ token: await env.mint({ ref: 'develop' }) })
  t.deepEqual([first.status, second.status, denied.status], [200, 200, 403], 'two issuances and a denial')
  const event = bus.events.slice(before).find(e => (e as IssuedEvent).issuanceId === first.body.IssuanceId) as IssuedEvent
  const store = createAuditStore(env.db, env.tables.audit)
  // The event Lambda's handler, over the test's store: each event in its own SNS envelope, one after the other.
  const handler = arc.events.subscribe(async (payload: unknown) => recordIssuedEvent(payload, store, log))
  const deliver = async (...events: IssuedEvent[]) => {
    for (const e of events) await captured(witness, () => handler({ Records: [{ Sns: { Message: JSON.stringify(e) } }] }))
  }
  const records = await env.auditRecords()
  const byIssuance = (id: unknown) => records.find(a => a.issuanceId === id) as AuditRecord
  const denial = records.find(a => a.outcome === 'denied') as AuditRecord
  const fresher = async (key: AuditRecord) => (await env.auditRecords()).find(a => a.pk === key.pk && a.sk === key.sk)

  const mismatches = () => witness.lines.filter(l => l.includes('does not match its audit record')).length
  const refusedBefore = mismatches()
  await deliver(event, event)
  t.equal((await fresher(byIssuance(first.body.IssuanceId)))?.accessKeyId, first.body.AccessKeyId, 'the event, delivered twice (SNS is at-least-once), records the AccessKeyId')
  t.equal(mismatches(), refusedBefore, 'and the repeat is not refused')
  await deliver({ ...event, accessKeyId: 'ASIAFORGEDFORGED0001', expiration: '2099-01-01T00:00:00.000Z' })
  const kept = await fresher(byIssuance(first.body.IssuanceId))
  t.deepEqual([kept?.accessKeyId, kept?.expiration], [first.body.AccessKeyId, event.expiration], 'an event with another AccessKeyId for that record: the recorded one stays')
  const other = byIssuance(second.body.IssuanceId)
  await deliver({ ...event, pk: other.pk, sk: other.sk, accessKeyId: 'ASIAFORGEDFORGED0002' })
  t.equal((await fresher(other))?.accessKeyId, undefined, 'an event naming another issuance\'s record (not its IssuanceId): that record is untouched')
  await deliver({ ...event, pk: denial.pk, sk: denial.sk, issuanceId: undefined, accessKeyId: 'ASIAFORGEDFORGED0003' } as unknown as IssuedEvent)
  t.equal((await fresher(denial))?.accessKeyId, undefined, 'an event naming a denial\'s record without an IssuanceId: refused before the table')
  // The table's own condition: a denial's key with an IssuanceId (a denial has none, so the store's outcome check decides).
  await deliver({ ...event, pk: denial.pk, sk: denial.sk, accessKeyId: 'ASIAFORGEDFORGED0004' })
  t.equal((await fresher(denial))?.accessKeyId, undefined, 'an event naming a denial\'s record with an IssuanceId: no AccessKeyId is added to it')
  t.equal(mismatches() - refusedBefore, 4, 'each of the four refused events is logged as not matching its record')
  const lines = witness.lines.map(l => JSON.parse(l) as Record<string, unknown>)
  t.ok(lines.filter(l => String(l.msg).includes('does not match its audit record')).every(l => l.level === 'error'), 'each refusal at level error')
  t.notOk(lines.some(l => l.msg === 'credentials-issued' && String(l.accessKeyId).startsWith('ASIAFORGED')), 'and none logged as an issuance')
})

test('an event forged on the sandbox bus is refused before it is logged: no credentials-issued line, a refusal at error', async t => {
  await fresh(env, witness, mapping())
  const r = await call(env, witness, { token: await env.mint() })
  t.equal(r.status, 200, 'an issuance through the sandbox broker')
  const issued = (l: string) => l.includes('"msg":"credentials-issued"')
  const real = await eventually(async () => env.logs.find(l => issued(l) && l.includes(String(r.body.IssuanceId))))
  t.ok(real && real.includes(`"accessKeyId":"${String(r.body.AccessKeyId)}"`), 'its own event is logged as the issuance, with its AccessKeyId')
  const record = await recordOf(r) as AuditRecord
  const from = env.logs.length
  const forge = async (payload: Record<string, unknown>) => {
    const res = await fetch(env.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'credentials-issued', payload }) })
    t.equal(res.status, 200, 'the bus takes the forged event')
  }
  // Forged: the real record's key and IssuanceId with another AccessKeyId (and a claimed project); a key nobody issued.
  await forge({ ...record, project: 'https://gitlab.evil.example/evil/api', accessKeyId: 'ASIAFORGEDONTHEBUS01', expiration: '2099-01-01T00:00:00.000Z', assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/x/y' })
  await forge({ ...record, pk: 'token#0000', issuanceId: 'forged', accessKeyId: 'ASIAFORGEDONTHEBUS02', expiration: '2099-01-01T00:00:00.000Z', assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/x/y' })
  const refusals = await eventually(async () => {
    const found = env.logs.slice(from).filter(l => l.includes('credentials-issued event refused'))
    return found.length >= 2 ? found : undefined
  })
  t.equal(refusals?.length, 2, 'both forged events are logged as refused')
  t.ok(refusals?.every(l => l.includes('"level":"error"')), 'at level error')
  t.notOk(env.logs.some(l => issued(l) && /ASIAFORGEDONTHEBUS|gitlab\.evil\.example/.test(l)), 'neither is logged as an issuance, nor with what it claims')
  t.equal((await recordOf(r))?.accessKeyId, r.body.AccessKeyId, 'the record keeps the AccessKeyId its own event recorded')
})

test('no secret appears in any log line, error body, audit record or published event', async t => {
  witness.auditRecords.push(...await env.auditRecords())
  witness.events.push(...(await eventBus()).events)
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('sandbox, issuer and STS stopped')
})
