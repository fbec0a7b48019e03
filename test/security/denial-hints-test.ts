// A token refused because no mapping gives its project the role it asked for: the 403 offers the roles this project
// has, or the one it misspelt, and never another project's. Those roles are read on that denial only: the broker in
// this process counts its DynamoDB requests on each path.
import test from 'tape'
import type { AuditRecord } from '../../src/broker/audit'
import { ROLE_ARN, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { call, countingDb, inProcess } from './helpers/harness'
import { Witness } from './helpers/witness'

let env: BrokerEnv
let iss: string
const witness = new Witness()
const audit: AuditRecord[] = []

/** Roles at this project's scopes (its own, its group's /*, /** above it) and at scopes that are not its own. */
const OWN = ['audit-reader', 'deploy', 'org-viewer', 'read-only']
const OTHERS = ['web-admin', 'evil-role', 'other-role', 'disabled-role']

test('Set up env', async t => {
  env = await startBrokerEnv()
  iss = env.issuer.url
  const m = (scope: string, role: string, extra: Record<string, unknown> = {}) =>
    env.putMapping({ scope: `${iss}/${scope}`, role, roleArn: ROLE_ARN, pin: 'none', ...extra })
  await m('acme/payments/api', 'deploy', { pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await m('acme/payments/api', 'read-only', { pin: { project_id: '4301877' } })
  await m('acme/payments/api', 'disabled-role', { pin: { project_id: '4301877' }, enabled: false })
  await m('acme/payments/*', 'audit-reader')
  await m('acme/**', 'org-viewer')
  // Not this project's: a sibling project, a group whose name extends its group's, another group.
  await m('acme/payments/web', 'web-admin', { pin: { project_id: '99' } })
  await m('acme/payments-evil/**', 'evil-role')
  await m('other/**', 'other-role')
  t.ok(env.url, `broker running at ${env.url}`)
})

const ownList = `Roles mapped for this project: ${OWN.map(r => `"${r}"`).join(', ')}.`
const namesOthers = (text: string) => OTHERS.some(r => text.includes(`"${r}"`))

test('a misspelt role: did you mean the project\'s closest role, then the roles it has', async t => {
  const r = await call(env, witness, { token: await env.mint(), query: 'role=deplyo' })
  t.equal(r.status, 403, '403 access_denied')
  t.equal(r.body.message, `No mapping lets ${iss}/acme/payments/api use the role "deplyo"; did you mean "deploy"? ${ownList}`,
    'the closest of its own roles, and the list')
  t.notOk(namesOthers(r.text), 'no other project\'s role, and no disabled one')
})

test('a role the project does not have: the roles it has, and what to ask an admin', async t => {
  const r = await call(env, witness, { token: await env.mint(), query: 'role=web-admin' })
  t.equal(r.status, 403, '403 access_denied')
  t.equal(r.body.message,
    `No mapping lets ${iss}/acme/payments/api use the role "web-admin". ${ownList} If the job needs "web-admin", ` +
      'ask an admin to add it (tanuki-sts mappings put).',
    'a role of its sibling project is not offered: its own are')
  t.notOk(namesOthers(String(r.body.message).replace('role "web-admin"', '').replace('needs "web-admin"', '')), 'no other project\'s role is named')
  const record = (await env.auditRecords()).find(a => a.requestId === r.body.requestId)
  t.equal(record?.reason, r.body.message, 'the audit record keeps the same words')
})

test('a project with no mapping at all: no list, the admin to ask', async t => {
  const r = await call(env, witness, { token: await env.mint({ project_path: 'lonely/app', namespace_path: 'lonely', project_id: '5' }), query: 'role=deploy' })
  t.equal(r.status, 403, '403 access_denied')
  t.equal(r.body.message, `No mapping lets ${iss}/lonely/app use the role "deploy". Ask an admin to add one (tanuki-sts mappings put).`, 'nothing to offer')
})

test('a project in the sibling group: only the roles above it (/**), never its neighbours\'', async t => {
  const r = await call(env, witness, { token: await env.mint({ project_path: 'acme/payments-evil/x', namespace_path: 'acme/payments-evil', project_id: '6' }),
    query: 'role=deploy' })
  t.equal(r.body.message,
    `No mapping lets ${iss}/acme/payments-evil/x use the role "deploy". Roles mapped for this project: "evil-role", "org-viewer". If the job needs "deploy", ` +
      'ask an admin to add it (tanuki-sts mappings put).',
    'its /** and acme/**, not acme/payments\'s')
})

test('the roles are read on the "no mapping" denial only: not when issuing, not for a failed condition', async t => {
  const { db, sent } = countingDb(env)
  const broker = await inProcess(env, witness, { db })
  const requests = async (query: string, claims: Record<string, unknown> = {}) => {
    for (const key of Object.keys(sent)) delete sent[key]
    const r = await broker.handle({ token: await env.mint(claims), query })
    return { status: r.status, sent: { ...sent } }
  }
  const issued = await requests('role=deploy')
  t.deepEqual(issued, { status: 200, sent: { BatchGetItemCommand: 1, PutItemCommand: 1 } }, 'issued: one BatchGetItem, one PutItem, no Query')
  const condition = await requests('role=deploy', { ref: 'develop' })
  t.deepEqual(condition, { status: 403, sent: { BatchGetItemCommand: 1, PutItemCommand: 1 } }, 'a failed condition: no Query')
  const none = await requests('role=deplyo')
  // acme/payments/api: the project, acme/payments/*, acme/payments/**, acme/**, /**.
  t.deepEqual(none, { status: 403, sent: { BatchGetItemCommand: 1, QueryCommand: 5, PutItemCommand: 1 } }, 'no mapping: one Query per candidate scope, at once')
  db.destroy()
})

test('the roles cannot be read: the denial stands, with the plain message and a warning logged', async t => {
  const { db } = countingDb(env)
  db.middlewareStack.add(next => async args => {
    if ((args.input as { KeyConditionExpression?: string }).KeyConditionExpression === '#s = :s') {
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' })
    }
    return next(args)
  }, { step: 'initialize', name: 'failQuery' })
  const broker = await inProcess(env, witness, { db })
  const r = await broker.handle({ token: await env.mint(), query: 'role=deplyo' })
  t.equal(r.status, 403, 'still 403 access_denied')
  t.equal(r.body.message, `No mapping lets ${iss}/acme/payments/api use the role "deplyo". Ask an admin to add one (tanuki-sts mappings put).`,
    'without the hint')
  t.ok(witness.lines.some(l => l.includes('"level":"warn"') && l.includes('could not read the project\'s roles')), 'the failed lookup is logged at warn')
  db.destroy()
})

test('no secret appears in any log line, error body or audit record', async t => {
  audit.push(...await env.auditRecords())
  witness.auditRecords.push(...audit)
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('sandbox, issuer and STS stopped')
})
