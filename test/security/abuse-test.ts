// Abuse: one token used by many at once (maxUses), replay after maxTokenAge, floods of tokens that do not verify, and
// issuer documents that try to send the broker elsewhere. Counts of STS calls, issuer fetches and audit writes show it.
// Caches live in a warm Lambda, and sandbox starts a fresh process per request, so the cache and flood cases build the
// broker in this process (composeBroker with the sandbox's DynamoDB, the local issuer and STS) and call its handler.
import test from 'tape'
import { LEEWAY_SECONDS } from '../../src/broker/token'
import type { IssuerMode } from '../../src/local/issuer'
import { ROLE_ARN, scanAll, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { attackerKey, decode, signRs256 } from './helpers/forge'
import { call, countingDb, eventBus, fresh, inProcess, sleep } from './helpers/harness'
import type { Answer } from '../helpers/post'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()
let scope: string
const mapping = (extra: Record<string, unknown> = {}) => ({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' }, ...extra })
const count = (answers: Answer[], status: number) => answers.filter(a => a.status === status).length

test('Set up env', async t => {
  env = await startBrokerEnv()
  scope = `${env.issuer.url}/acme/payments/api`
  t.ok(env.url, `broker running at ${env.url}`)
})

test('maxUses 1: 50 concurrent requests with one token (50 warm containers) get exactly one issuance', async t => {
  await fresh(env, witness, mapping({ maxUses: 1 }))
  const token = await env.mint()
  const containers = await Promise.all(Array.from({ length: 50 }, () => inProcess(env, witness)))
  const answers = await Promise.all(containers.map(c => c.handle({ token })))
  t.equal(count(answers, 200), 1, 'one 200')
  t.equal(count(answers, 403), 49, '49 × 403')
  t.ok(answers.filter(a => a.status === 403).every(a => /maxUses 1/.test(String(a.body.message))), 'each denial says the uses are spent')
  t.ok(answers.filter(a => a.status === 403).every(a => /\. Re-run the job to get a new ID token: GitLab issues one per job run\.$/.test(String(a.body.message))),
    'and what a CI user can do: re-run the job for a new ID token')
  t.equal(env.sts.calls.AssumeRole, 1, 'the local STS saw one AssumeRole')
  const records = await env.auditRecords()
  t.equal(records.length, 50, '50 audit records')
  t.deepEqual(records.filter(r => r.outcome === 'issued').map(r => r.sk), [`use#${scope}#deploy#1`], 'one issuance, holding use slot 1')
  t.equal(records.filter(r => r.outcome === 'denied' && r.condition === 'maxUses').length, 49, '49 denials naming maxUses')
})

test('maxUses 3: 30 concurrent requests with one token get exactly three issuances', async t => {
  await fresh(env, witness, mapping({ maxUses: 3 }))
  const token = await env.mint()
  const containers = await Promise.all(Array.from({ length: 30 }, () => inProcess(env, witness)))
  const answers = await Promise.all(containers.map(c => c.handle({ token })))
  t.equal(count(answers, 200), 3, 'three 200s')
  t.equal(count(answers, 403), 27, '27 × 403')
  t.equal(env.sts.calls.AssumeRole, 3, 'three AssumeRole calls')
  const slots = (await env.auditRecords()).filter(r => r.outcome === 'issued').map(r => r.use).sort()
  t.deepEqual(slots, [1, 2, 3], 'use slots 1, 2 and 3, each once')
})

test('maxUses 1: the same token re-spelled (the spare bits of base64url\'s last character) is not a new token', async t => {
  await fresh(env, witness, mapping({ maxUses: 1 }))
  const token = await env.mint()
  const broker = await inProcess(env, witness)
  t.equal((await broker.handle({ token })).status, 200, 'the token is used once')
  // A 256-byte signature is 342 base64url characters: the last one carries 4 spare bits, so 16 spellings decode alike.
  const [h, p, s] = token.split('.')
  const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const spellings = [...last].map(c => `${h}.${p}.${s.slice(0, -1)}${c}`)
    .filter(v => v !== token && Buffer.from(v.split('.')[2], 'base64url').equals(Buffer.from(s, 'base64url')))
  t.equal(spellings.length, 15, '15 other spellings of the same signature')
  const answers = await Promise.all(spellings.map(v => broker.handle({ token: v })))
  t.equal(count(answers, 200), 0, 'none of them is issued')
  t.equal(env.sts.calls.AssumeRole, 1, 'STS saw the one use')
})

test('maxUses: a use slot outlives its token by the verifier\'s leeway, so its TTL cannot free the slot while the token is still accepted', async t => {
  await fresh(env, witness, mapping({ maxUses: 1 }))
  const broker = await inProcess(env, witness, { vars: { BROKER_AUDIT_RETENTION_DAYS: '1' } })
  const token = await env.mint({}, { expiresIn: 3 * 86400 })
  t.equal((await broker.handle({ token })).status, 200, 'a token valid for 3 days (a long job timeout; retention 1 day) is used once')
  const exp = Number(decode(token).payload.exp)
  const slot = (await env.auditRecords()).find(r => r.outcome === 'issued')
  t.ok(slot !== undefined && slot.expiresAt >= exp + LEEWAY_SECONDS,
    `its use slot's TTL (${slot?.expiresAt}) is not before exp + ${LEEWAY_SECONDS} s (${exp + LEEWAY_SECONDS}), the last moment the verifier accepts the token`)
})

test('replay after maxTokenAge (sandbox): the same token is refused once it is older than the mapping allows', async t => {
  await fresh(env, witness, mapping({ maxTokenAge: 4 }))
  const minted = Date.now()
  const token = await env.mint({}, { expiresIn: 600 })
  const first = await call(env, witness, { token })
  t.equal(first.status, 200, `fresh (${Date.now() - minted} ms old): issued`)
  await sleep(Math.max(0, 6000 - (Date.now() - minted)))
  const replay = await call(env, witness, { token })
  t.equal(replay.status, 403, `replayed ${Date.now() - minted} ms after minting (maxTokenAge 4 s): 403`)
  t.equal(replay.body.error, 'access_denied', 'access_denied')
  t.match(String(replay.body.message), /maxTokenAge/, 'naming maxTokenAge')
  const old = await call(env, witness, { token: await env.mint({}, { iat: Math.floor(Date.now() / 1000) - 60, expiresIn: 600 }) })
  t.equal(old.status, 403, 'a token minted a minute ago: 403 from the start')
  t.equal(env.sts.calls.AssumeRole, 1, 'only the fresh use reached STS')
  t.equal((await env.auditRecords()).filter(r => r.condition === 'maxTokenAge').length, 2, 'both refusals audited, naming maxTokenAge')
})

test('a flood of tokens that do not verify costs one discovery, one JWKS fetch, the keys\' read and write, and no STS call', async t => {
  await fresh(env, witness, mapping())
  await env.forgetIssuerKeys()
  const { db, sent } = countingDb(env)
  const broker = await inProcess(env, witness, { db })
  const good = await env.mint()
  const { header, payload } = decode(good)
  const attacker = await attackerKey()
  const issuerBefore = { ...env.issuer.stats }
  const floods: Array<[string, () => Promise<string>]> = [
    ['forged signatures under the issuer\'s kid', () => signRs256(header, { ...payload, jti: crypto.randomUUID() }, attacker.privateKey)],
    ['a new unknown kid each time', () => env.mint({}, { kid: crypto.randomUUID() })],
    ['untrusted issuers', () => env.mint({ iss: `https://gitlab-${crypto.randomUUID()}.evil.example` })],
    ['jku and x5u pointing elsewhere', () => signRs256({ ...header, jku: `${env.issuer.elsewhereUrl}/oauth/discovery/keys`, x5u: `${env.issuer.elsewhereUrl}/x.pem` }, payload, attacker.privateKey)],
  ]
  for (const [name, make] of floods) {
    const tokens = await Promise.all(Array.from({ length: 100 }, make))
    const answers = [...await Promise.all(tokens.slice(0, 50).map(token => broker.handle({ token })))]
    for (const token of tokens.slice(50)) answers.push(await broker.handle({ token }))
    t.equal(count(answers, 401), 100, `100 × ${name} (50 at once, 50 one by one): all 401`)
  }
  t.deepEqual(broker.verifier.stats, { discovery: 1, jwks: 1 }, 'the broker fetched discovery once and the JWKS once for all 400')
  t.equal(env.issuer.stats.discovery - issuerBefore.discovery, 1, 'the issuer counted one discovery request')
  t.equal(env.issuer.stats.jwks - issuerBefore.jwks, 1, 'and one JWKS request')
  t.equal(env.issuer.stats.elsewhere, 0, 'nothing was fetched from a URL a token named')
  t.deepEqual(sent, { BatchGetItemCommand: 1, PutItemCommand: 1 },
    'one DynamoDB read (the cold container\'s: its issuer\'s keys, none stored, with the first token\'s mappings) and one write (the keys it fetched)')
  t.deepEqual((await scanAll(env.db, env.tables.issuerKeys)).map(i => i.issuer), [env.issuer.url], 'that write is the issuer\'s keys item')
  t.deepEqual(await env.auditRecords(), [], 'the audit table is empty')
  t.equal(env.sts.calls.AssumeRole, 0, 'no AssumeRole')
  t.equal((await broker.handle({ token: good })).status, 200, 'and a valid token still gets credentials')
})

test('no keys stored: a flood while discovery fails costs one fetch per cooldown, and the broker recovers after it', async t => {
  await fresh(env, witness, mapping())
  await env.forgetIssuerKeys()
  let offset = 0
  const broker = await inProcess(env, witness, { clock: () => Date.now() + offset })
  const token = await env.mint()
  env.issuer.setMode('down')
  try {
    const answers = await Promise.all(Array.from({ length: 100 }, () => broker.handle({ token })))
    for (let i = 0; i < 50; i++) answers.push(await broker.handle({ token }))
    t.equal(count(answers, 503), 150, '150 requests while the issuer is down: all 503 unavailable')
    t.equal(broker.verifier.stats.discovery, 1, 'one discovery fetch for all of them')
    env.issuer.setMode('normal')
    offset = 31_000
    const forged = `${token.split('.').slice(0, 2).join('.')}.${Buffer.from('x'.repeat(256)).toString('base64url')}`
    const after = await Promise.all(Array.from({ length: 50 }, () => broker.handle({ token: forged })))
    t.equal(count(after, 401), 50, 'after the 30 s cooldown, 50 concurrent forged tokens are 401 again (keys reachable)')
    t.equal(broker.verifier.stats.discovery, 2, 'through exactly one more discovery')
    t.equal((await broker.handle({ token })).status, 200, 'and the valid token is issued')
  }
  finally { env.issuer.setMode('normal') }
})

test('a flood while the JWKS endpoint fails (no keys stored or cached) costs one JWKS fetch per cooldown', async t => {
  await fresh(env, witness, mapping())
  await env.forgetIssuerKeys()
  let offset = 0
  const broker = await inProcess(env, witness, { clock: () => Date.now() + offset })
  const token = await env.mint()
  env.issuer.setMode('jwks-down')
  try {
    const answers: Answer[] = []
    for (let i = 0; i < 50; i++) answers.push(await broker.handle({ token }))
    answers.push(...await Promise.all(Array.from({ length: 50 }, () => broker.handle({ token: token }))))
    t.equal(count(answers, 503), 100, '100 requests (50 one by one, 50 at once): all 503 unavailable')
    t.deepEqual(broker.verifier.stats, { discovery: 1, jwks: 1 }, 'one discovery and one JWKS fetch, not one per request')
    env.issuer.setMode('normal')
    offset = 31_000
    t.equal((await broker.handle({ token })).status, 200, 'after the cooldown, with keys back, the token is issued')
    t.equal(broker.verifier.stats.jwks, 2, 'after one more JWKS fetch')
  }
  finally { env.issuer.setMode('normal') }
})

test('discovery documents that would send the broker elsewhere, or are too big or too slow, are refused (503) and the broker stays up', async t => {
  await fresh(env, witness, mapping())
  const token = await env.mint()
  const modes: Array<[IssuerMode, string]> = [
    ['foreign-jwks', 'jwks_uri on another origin'],
    ['redirect', 'a 302 to another origin'],
    ['huge-discovery', 'a document over 1 MiB'],
    ['slow', 'no answer (timeout)'],
  ]
  for (const [mode, what] of modes) {
    await env.forgetIssuerKeys()
    let offset = 0
    const broker = await inProcess(env, witness, { clock: () => Date.now() + offset })
    const elsewhere = env.issuer.stats.elsewhere
    env.issuer.setMode(mode)
    const started = Date.now()
    let r: Answer
    try { r = await broker.handle({ token }) }
    finally { env.issuer.setMode('normal') }
    t.equal(r.status, 503, `${what}: 503`)
    t.equal(r.body.error, 'unavailable', `${what}: unavailable`)
    t.comment(`${what}: answered in ${Date.now() - started} ms`)
    t.equal(env.issuer.stats.elsewhere, elsewhere, `${what}: nothing fetched from the other origin`)
    offset = 31_000
    t.equal((await broker.handle({ token: await env.mint() })).status, 200, `${what}: once the issuer is back, the same broker issues`)
  }
  t.equal(env.sts.calls.AssumeRole, modes.length, 'only the recovery requests reached STS')
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
