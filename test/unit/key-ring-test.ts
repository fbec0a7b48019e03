// Spec for src/broker/key-ring.ts: when a container reads the issuer-keys table, when it asks the issuer, and what it
// writes back. A real local DynamoDB (dynalite) and the local issuer; the clock is the test's, so cooldowns are exact.
import test from 'tape'
import { createIssuerKeysStore } from '../../src/broker/issuer-keys'
import type { IssuerKeysStore, KeysRead, StoredKeys } from '../../src/broker/issuer-keys'
import { FETCH_COOLDOWN_MS, RECHECK_AFTER_MS, TABLE_ONLY_REREAD_MS, TABLE_REREAD_MS, createKeyRing } from '../../src/broker/key-ring'
import type { KeyRing } from '../../src/broker/key-ring'
import { parseKeySet } from '../../src/broker/key-set'
import type { Fields, Level } from '../../src/broker/log'
import { BrokerError } from '../../src/broker/errors'
import { startLocalIssuer } from '../../src/local/issuer'
import type { LocalIssuer } from '../../src/local/issuer'
import { startTables } from '../helpers/tables'
import type { LocalTables } from '../helpers/tables'

const NAMES = { mappings: 'ring-mappings', audit: 'ring-audit', issuerKeys: 'ring-issuer-keys' }
let tables: LocalTables
let issuer: LocalIssuer
let store: IssuerKeysStore
let now = Date.parse('2026-12-01T10:00:00Z')
const clock = () => now
const lines: Array<{ level: Level; msg: string; fields?: Fields }> = []
const log = (level: Level, msg: string, fields?: Fields) => void lines.push({ level, msg, fields })
const asked = () => issuer.stats.discovery + issuer.stats.jwks

function ring (tableOnly: string[] = []): KeyRing {
  return createKeyRing({ store, tableOnly, log, clock })
}
/** What a request's BatchGetItem would hand over: the issuer's item, read now. */
const readNow = (r: KeyRing) => r.readStoredWith(issuer.url, async () => ({ keys: await store.get(issuer.url) as KeysRead }))
const stored = async () => await store.get(issuer.url) as StoredKeys
const kids = (set: { keys: ReadonlyArray<{ kid: string }> }) => set.keys.map(k => k.kid).sort()
const codeOf = async (p: Promise<unknown>) => {
  try { await p; return 'ok' }
  catch (err) { return err instanceof BrokerError ? `${err.status} ${err.code}` : `threw ${String(err)}` }
}

test('Set up env', async t => {
  tables = await startTables(NAMES)
  issuer = await startLocalIssuer({ audience: 'https://sts.tanuki.test' })
  store = createIssuerKeysStore(tables.db, NAMES.issuerKeys)
  t.pass('dynalite and the local issuer are up')
})

test('nothing stored: the first use fetches from the issuer and stores the set, saying where from and when', async t => {
  const r = ring()
  t.ok(await readNow(r), 'a cold container reads the table')
  const set = await r.current(issuer.url)
  const item = await stored()
  t.deepEqual(kids(set), [issuer.publicJwk.kid], 'verifies with the issuer\'s key')
  t.equal(asked(), 2, 'after one discovery and one JWKS request')
  t.deepEqual([item.source, item.fetchedAt, item.updatedBy], [`${issuer.url}/oauth/discovery/keys`, new Date(now).toISOString(), 'broker'],
    'stored with its source, time and writer')
})

test('stored keys: a cold container asks the issuer nothing; a warm one reads the table again only after a minute', async t => {
  const before = asked()
  const r = ring()
  await readNow(r)
  t.deepEqual(kids(await r.current(issuer.url)), [issuer.publicJwk.kid], 'the stored key')
  t.equal(asked(), before, 'no request to the issuer')
  now += TABLE_REREAD_MS
  t.equal(await readNow(r), undefined, 'at a minute: no read')
  now += 1
  t.ok(await readNow(r), 'past a minute: the next request reads the item again')
  const concurrent = [readNow(ring()), readNow(ring())]
  t.ok((await Promise.all(concurrent)).every(Boolean), 'separate containers each read')
  const shared = ring()
  const [first, second] = await Promise.all([readNow(shared), readNow(shared)])
  t.ok(first && second === undefined, 'two requests at once in one container: one read, the other waits for it')
})

test('an unknown kid: one fetch per cooldown, the rotated set stored once', async t => {
  const r = ring()
  await readNow(r)
  await r.current(issuer.url)
  await issuer.rotateKey()
  const before = asked()
  const newer = await r.refresh(issuer.url, issuer.publicJwk.kid)
  t.equal(newer && kids(newer).includes(String(issuer.publicJwk.kid)), true, 'the refreshed set has the new key')
  t.equal(asked() - before, 2, 'after one discovery and one JWKS request')
  t.equal(kids((await stored()).set).includes(String(issuer.publicJwk.kid)), true, 'and it is stored')
  t.equal(await r.refresh(issuer.url, 'nobody'), undefined, 'another unknown kid within the cooldown: nothing newer')
  t.equal(asked() - before, 2, 'and no request')
  now += FETCH_COOLDOWN_MS
  const fetchedAt = (await stored()).fetchedAt
  t.equal(await r.refresh(issuer.url, 'nobody'), undefined, 'after the cooldown: fetched again, nothing newer')
  t.equal(asked() - before, 3, 'one more request, for the JWKS alone (the container keeps the discovery document)')
  t.equal((await stored()).fetchedAt, fetchedAt, 'an unchanged set is not written again')
})

test('an outage stops nothing for known keys; a day-old set is rechecked, and kept if the issuer is down', async t => {
  const r = ring()
  await readNow(r)
  issuer.setMode('down')
  try {
    t.equal(await codeOf(r.current(issuer.url)), 'ok', 'issuer down: the stored set verifies')
    t.equal(await codeOf(r.refresh(issuer.url, 'rotated')), '503 unavailable', 'an unknown kid while it is down: 503')
    now += RECHECK_AFTER_MS + TABLE_REREAD_MS + 1
    lines.length = 0
    const cold = ring()
    await readNow(cold)
    const before = asked()
    t.equal(await codeOf(cold.current(issuer.url)), 'ok', 'a day later, issuer down: the stored set still verifies')
    t.equal(asked() - before, 1, 'after one attempt to recheck it')
    t.ok(lines.some(l => l.level === 'warn' && l.msg === 'issuer keys could not be rechecked; verifying with the stored ones'), 'logged as a warning')
  }
  finally { issuer.setMode('normal') }
  const cold = ring()
  await readNow(cold)
  const before = (await stored()).fetchedAt
  await cold.current(issuer.url)
  t.ok((await stored()).fetchedAt > before, 'issuer back: the recheck is recorded (fetchedAt), the set unchanged')
})

test('a newer stored set is never replaced by an older one', async t => {
  const newer = await stored()
  await store.put({ ...newer, fetchedAt: new Date(now + 60_000).toISOString(), updatedBy: 'ada' })
  const r = ring()
  await readNow(r)
  await issuer.rotateKey()
  now += FETCH_COOLDOWN_MS
  // This container's clock is behind the push's: its fetch is older, so it keeps the pushed item.
  t.ok(await r.refresh(issuer.url, issuer.publicJwk.kid), 'the rotated set verifies here')
  t.equal((await stored()).updatedBy, 'ada', 'the pushed item stays')
})

test('a table-only issuer: never asked; an unknown kid re-reads the table at most every 5 s', async t => {
  const r = ring([issuer.url])
  const before = asked()
  await readNow(r)
  const set = await r.current(issuer.url)
  await issuer.rotateKey()
  t.equal(await r.refresh(issuer.url, issuer.publicJwk.kid), undefined, 'a kid not stored: nothing newer')
  t.ok(lines.some(l => l.msg.startsWith('a token names a key not stored for a table-only issuer')), 'logged, saying to push')
  await store.put({ issuer: issuer.url, set: parseKeySet({ keys: [issuer.publicJwk, ...set.keys] }).set, source: 'file:jwks.json',
    fetchedAt: new Date(now + 120_000).toISOString(), updatedBy: 'ada' })
  t.equal(await r.refresh(issuer.url, issuer.publicJwk.kid), undefined, 'pushed, but the table was read under 5 s ago: not yet')
  now += TABLE_ONLY_REREAD_MS + 1
  const pushed = await r.refresh(issuer.url, issuer.publicJwk.kid)
  t.equal(pushed && kids(pushed).includes(String(issuer.publicJwk.kid)), true, 'after 5 s the pushed key is found')
  now += RECHECK_AFTER_MS * 10
  t.equal(await codeOf(r.current(issuer.url)), 'ok', 'stored keys of any age verify: nothing to recheck them against')
  t.equal(asked(), before, 'the issuer was never asked')
})

test('no table (the CLI\'s explain): keys fetched and kept in memory', async t => {
  const r = createKeyRing({ clock })
  t.equal(await r.readStoredWith(issuer.url, async () => ({ keys: undefined })), undefined, 'nothing to read')
  t.ok(kids(await r.current(issuer.url)).includes(String(issuer.publicJwk.kid)), 'fetched, with the issuer\'s current key')
  await r.current(issuer.url)
  t.equal(r.stats.jwks, 1, 'once for two uses')
})

test('Teardown', async t => {
  await issuer.close()
  await tables.stop()
  t.pass('stopped')
})
