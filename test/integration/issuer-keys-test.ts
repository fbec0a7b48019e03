// Issuer keys in their own table, through the sandbox broker (every request a fresh process: a cold container): stored
// keys verify with no request to the issuer, an unknown kid fetches and stores the rotated set, an outage stops nothing
// for known keys, a table-only issuer is never contacted (its keys pushed with the CLI), a malformed item fails closed.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import test from 'tape'
import { startLocalIssuer } from '../../src/local/issuer'
import type { LocalIssuer } from '../../src/local/issuer'
import { AUDIENCE, ROLE_ARN, ROOT, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'

let env: BrokerEnv
/** A GitLab the broker is told never to contact (BROKER_TABLE_ONLY_ISSUERS); closed once its keys are pushed. */
let hidden: LocalIssuer
let dir: string

interface Answer { status: number; body: Record<string, unknown> }
interface Run { code: number; stdout: string; stderr: string }

async function post (token: string): Promise<Answer> {
  const res = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> }
  catch { /* not JSON */ }
  return { status: res.status, body }
}

function cli (args: string[]): Promise<Run> {
  return new Promise(resolve => {
    const child = execFile(process.execPath, [join(ROOT, 'bin', 'tanuki-sts.js'), ...args], {
      cwd: ROOT, env: { ...process.env, ARC_TABLES_PORT: String(env.tablesPort), NO_COLOR: '1' }, timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }))
    child.stdin?.end()
  })
}

async function storedItem (issuer: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await env.db.send(new GetItemCommand({ TableName: env.tables.issuerKeys, Key: { issuer: { S: issuer } }, ConsistentRead: true }))
  return Item && unmarshall(Item)
}

const storedKids = async (issuer: string) => {
  const item = await storedItem(issuer)
  return item ? (JSON.parse(String(item.jwks)) as { keys: Array<{ kid: string }> }).keys.map(k => k.kid).sort() : []
}

const forget = (issuer: string) => env.db.send(new DeleteItemCommand({ TableName: env.tables.issuerKeys, Key: { issuer: { S: issuer } } }))
const asked = (issuer: LocalIssuer) => issuer.stats.discovery + issuer.stats.jwks
const logsSince = (mark: number) => env.logs.slice(mark).join('\n')

const mapping = (issuer: string) => ({ scope: `${issuer}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' },
  conditions: { ref: 'main' } })

test('Set up env', async t => {
  hidden = await startLocalIssuer({ audience: AUDIENCE })
  env = await startBrokerEnv({ extraIssuers: [hidden.url], env: { BROKER_TABLE_ONLY_ISSUERS: hidden.url } })
  await env.putMapping(mapping(env.issuer.url))
  await env.putMapping(mapping(hidden.url))
  dir = mkdtempSync(join(tmpdir(), 'tanuki-issuer-keys-'))
  t.ok(env.url, `broker at ${env.url}, trusting ${env.issuer.url} and, keys from the table only, ${hidden.url}`)
})

test('no keys stored: the first cold container fetches them from the issuer and stores them; the next asks the issuer nothing', async t => {
  await forget(env.issuer.url)
  const before = { ...env.issuer.stats }
  const first = await post(await env.mint())
  const fetched = { discovery: env.issuer.stats.discovery - before.discovery, jwks: env.issuer.stats.jwks - before.jwks }
  const item = await storedItem(env.issuer.url)
  const second = await post(await env.mint())
  t.equal(first.status, 200, 'the first request is issued')
  t.deepEqual(fetched, { discovery: 1, jwks: 1 }, 'after one discovery and one JWKS request to the issuer')
  t.deepEqual(await storedKids(env.issuer.url), [env.issuer.publicJwk.kid], 'the issuer\'s key is now in the issuer-keys table')
  t.equal(item?.source, `${env.issuer.url}/oauth/discovery/keys`, 'with where it came from (the jwks_uri)')
  t.ok(typeof item?.fetchedAt === 'string' && Date.now() - Date.parse(String(item.fetchedAt)) < 60_000, 'when (fetchedAt)')
  t.equal(item?.updatedBy, 'broker', 'and who stored it')
  t.equal(second.status, 200, 'the next cold container issues too')
  t.equal(env.issuer.stats.discovery + env.issuer.stats.jwks - before.discovery - before.jwks, 2,
    'with no request to the issuer: its keys came with the mappings')
})

test('key rotation: a token under a new key is issued at once, the table updated, and later containers ask the issuer nothing', async t => {
  const old = env.issuer.publicJwk.kid
  await env.issuer.rotateKey()
  const before = asked(env.issuer)
  const rotated = await post(await env.mint())
  const afterFirst = asked(env.issuer)
  const again = await post(await env.mint())
  const oldToken = await post(await env.issuer.mint({}, { kid: old }))
  t.equal(rotated.status, 200, 'the first token under the new key is issued')
  t.equal(afterFirst - before, 2, 'after one fetch (discovery and JWKS): the kid was unknown')
  t.deepEqual(await storedKids(env.issuer.url), [old, env.issuer.publicJwk.kid].sort(),
    'the table holds the rotated set (new key and the old one the issuer still serves)')
  t.equal(again.status, 200, 'the next container issues under the new key')
  t.equal(asked(env.issuer), afterFirst, 'without asking the issuer')
  t.equal(oldToken.status, 401, 'a token naming the old kid, but not signed by it, is still refused')
})

test('a GitLab keys outage stops nothing for keys already known; an unknown kid then is 503, not 401', async t => {
  env.issuer.setMode('down')
  try {
    const before = asked(env.issuer)
    const known = await post(await env.mint())
    const quiet = asked(env.issuer) === before
    const unknown = await post(await env.mint({}, { kid: 'kid-the-issuer-never-served' }))
    t.equal(known.status, 200, 'issuer down: a token under a stored key is issued')
    t.ok(quiet, 'and the issuer was not asked')
    t.equal(unknown.status, 503, 'an unknown kid while the issuer is down: 503')
    t.equal(unknown.body.error, 'unavailable', 'unavailable: the caller did nothing wrong')
  }
  finally { env.issuer.setMode('normal') }
  env.issuer.setMode('jwks-down')
  try { t.equal((await post(await env.mint())).status, 200, 'the JWKS endpoint alone down: issued too') }
  finally { env.issuer.setMode('normal') }
})

test('a table-only issuer with no keys stored: 503 saying an admin must push them; the issuer is never asked', async t => {
  const r = await post(await hidden.mint())
  t.equal(r.status, 503, '503')
  t.match(String(r.body.message),
    /No keys are stored for the token issuer http:\/\/127\.0\.0\.1:\d+, whose keys come from the broker's table alone; an admin must push them \(tanuki-sts issuers keys push\)/, 'naming the issuer and the command')
  t.equal(asked(hidden), 0, 'the broker sent the issuer no request')
})

test('issuers keys push --local reads the instance\'s keys and stores them; the broker then issues and never asks the issuer', async t => {
  const push = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--local', '--actor', 'ada'])
  const askedByCli = asked(hidden)
  const item = await storedItem(hidden.url)
  const r = await post(await hidden.mint())
  t.equal(push.code, 0, `push succeeds${push.code ? `: ${push.stderr}` : ''}`)
  t.match(push.stderr, new RegExp(`Stored 1 key for ${hidden.url} from ${hidden.url}/oauth/discovery/keys in the local sandbox`),
    'and says what it stored, from where')
  t.equal(askedByCli, 2, 'the CLI (inside the network) read discovery and the JWKS')
  t.deepEqual([item?.updatedBy, item?.source], ['ada', `${hidden.url}/oauth/discovery/keys`], 'the item records who pushed it and from where')
  t.equal(r.status, 200, 'a token of the table-only issuer is issued')
  t.equal(asked(hidden), askedByCli, 'and the broker never asked the issuer')
  const show = await cli(['issuers', 'keys', 'show', '--issuer', hidden.url, '--local', '--json'])
  t.deepEqual((JSON.parse(show.stdout) as { keys: Array<{ kid: string; bits: number }> }).keys,
    [{ kid: hidden.publicJwk.kid, bits: 2048, alg: 'RS256', use: 'sig' }], 'show --json lists its key')
  const list = await cli(['issuers', 'keys', 'list', '--local'])
  t.ok(list.stdout.includes(hidden.url) && list.stdout.includes(env.issuer.url), 'list shows both issuers')
})

test('unreachable, and rotated: a new kid is refused (401) with a log line saying to push; a push from a file fixes it', async t => {
  await hidden.close()
  const old = hidden.publicJwk
  await hidden.rotateKey()
  const mark = env.logs.length
  const refused = await post(await hidden.mint())
  t.equal(refused.status, 401, 'a token under a key not pushed yet: 401')
  t.match(String(refused.body.message), /key \(kid\) is not one of its issuer's keys/, 'naming the kid as unknown')
  t.match(logsSince(mark), /a token names a key not stored for a table-only issuer: if the issuer rotated its keys, push them/,
    'the log says what an admin must do')
  const file = join(dir, 'jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [hidden.publicJwk, old] }))
  const push = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--from-file', file, '--local'])
  t.equal(push.code, 0, `push --from-file succeeds${push.code ? `: ${push.stderr}` : ''}`)
  t.match(push.stderr, new RegExp(`added ${hidden.publicJwk.kid}, removed none`), 'saying which kid it added')
  t.equal((await post(await hidden.mint())).status, 200, 'the rotated key now verifies, the issuer still unreachable')
  t.equal((await storedItem(hidden.url))?.source, `file:${file}`, 'the item says the keys came from that file')
  const explained = await cli(['explain', '--local', '--token', await hidden.mint(), '--role', 'deploy', '--issuer', hidden.url, '--audience', AUDIENCE,
    '--json'])
  const out = JSON.parse(explained.stdout || '{}') as { claims?: { verified: boolean }; verdict?: { status: number } }
  t.deepEqual([out.claims?.verified, out.verdict?.status], [true, 200],
    `explain verifies the token with the stored keys, as the broker does${explained.code ? `: ${explained.stderr}` : ''}`)
})

test('push refuses a set it would not trust, and stores nothing', async t => {
  const before = await storedItem(hidden.url)
  const privateKey = join(dir, 'private.json')
  writeFileSync(privateKey, JSON.stringify({ keys: [{ ...hidden.publicJwk, d: 'AQAB', p: 'AQAB' }] }))
  const notASet = join(dir, 'not-a-set.json')
  writeFileSync(notASet, JSON.stringify([hidden.publicJwk]))
  const leaked = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--from-file', privateKey, '--local'])
  const shapeless = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--from-file', notASet, '--local'])
  const unreachable = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--local'])
  const http = await cli(['issuers', 'keys', 'push', '--issuer', 'http://gitlab.internal.example', '--region', 'eu-west-1', '--env', 'staging'])
  const longActor = await cli(['issuers', 'keys', 'push', '--issuer', hidden.url, '--from-file', join(dir, 'jwks.json'), '--local', '--actor', 'x'.repeat(300)])
  t.equal(leaked.code, 1, 'a set holding a private key: refused')
  t.match(leaked.stderr, /keys\[0\] holds private key material \(d, p\): give the public keys only/, 'saying so')
  t.match(shapeless.stderr, /not a JWK set \(a JSON object with a "keys" array\)/, 'a JSON array: refused, saying what a set is')
  t.match(unreachable.stderr, /could not be reached for its discovery document.*Nothing was stored\./, 'an instance it cannot reach: says so')
  t.match(http.stderr, /--issuer has "http:\/\/gitlab\.internal\.example": http:\/\/ issuers are for --local only/,
    'http:// for a deployed stack: refused before anything is read')
  t.match(longActor.stderr, /The broker would refuse this item, nothing was stored:\n {2}updatedBy is longer than 256 bytes/,
    'an item the broker would refuse (a 300-character --actor)')
  t.deepEqual(await storedItem(hidden.url), before, 'the stored item is unchanged')
})

test('a malformed keys item fails closed (503) with a log line naming the problem, and the issuer is not asked to repair it', async t => {
  const good = await storedItem(env.issuer.url)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an attribute the broker never writes', { extra: { S: 'x' } }, /unknown attribute \\"extra\\"/],
    ['a private key in the set', { jwks: { S: JSON.stringify({ keys: [{ ...env.issuer.publicJwk, d: 'AQAB' }] }) } },
      /jwks: keys\[0\] holds private key material/],
    ['beside a good key, one the broker would not store (1024 bits)',
      { jwks: { S: JSON.stringify({
        keys: [env.issuer.publicJwk, { kty: 'RSA', kid: 'small', e: 'AQAB', n: Buffer.alloc(128, 0xab).toString('base64url') }],
      }) } },
      /jwks holds keys the broker never stores: keys\[1\] \(kid small\): a 1024-bit RSA key/],
    ['jwks that is not JSON', { jwks: { S: '{"keys":' } }, /jwks is not JSON/],
    ['jwks as a map instead of text', { jwks: { M: {} } }, /jwks is not a non-empty string attribute/],
  ]
  try {
    for (const [name, change, problem] of cases) {
      const item = { issuer: { S: env.issuer.url }, jwks: { S: String(good?.jwks) }, source: { S: 'test' }, fetchedAt: { S: new Date().toISOString() },
        updatedBy: { S: 'test' }, ...change }
      await env.db.send(new PutItemCommand({ TableName: env.tables.issuerKeys, Item: item as never }))
      const before = asked(env.issuer)
      const mark = env.logs.length
      const r = await post(await env.mint())
      t.equal(r.status, 503, `${name}: 503`)
      t.match(String(r.body.message),
        /The keys the broker stores for the token issuer .* are invalid, so its tokens cannot be verified; an admin must push them again\./,
        `${name}: the answer says so`)
      t.ok(problem.test(logsSince(mark)) && logsSince(mark).includes('stored issuer keys are invalid'), `${name}: the log names the problem`)
      t.equal(asked(env.issuer), before, `${name}: the issuer was not asked`)
    }
  }
  finally { await forget(env.issuer.url) }
  t.equal((await post(await env.mint())).status, 200, 'with the item removed, the broker fetches and stores the keys again')
})

test('Teardown', async t => {
  // Each issuance's event Lambda runs after its answer: let the last ones finish before sandbox stops.
  await eventually(async () => (await env.auditRecords()).every(r => r.outcome !== 'issued' || r.accessKeyId) || undefined)
  await env.stop()
  rmSync(dir, { recursive: true, force: true })
  t.pass('sandbox, issuers and STS stopped')
})
