// A JWK set the broker verifies with: RSA public keys for RS256, checked as strictly wherever they come from (the
// issuer, the issuer-keys table, a file the CLI pushes). Fetching them is issuer-fetch.ts's, storing them issuer-keys.ts's.
import { createPublicKey } from 'node:crypto'
import { KeySetInvalid } from './errors'

/** RFC 7518 §3.3: RS256 keys are at least 2048 bits (jose refuses smaller ones); 8192 bounds the work a key can cost. */
export const MIN_RSA_BITS = 2048
export const MAX_RSA_BITS = 8192
/** GitLab serves two or three keys; a set is kept whole in one table item (DynamoDB's limit is 400 KB). */
export const MAX_KEYS = 20
export const MAX_KEY_SET_BYTES = 64 * 1024

/** One RS256 verification key, as kept: only the members a public RSA JWK needs. */
export interface PublicKeyJwk {
  readonly kty: 'RSA'
  readonly kid: string
  readonly n: string
  readonly e: string
  readonly alg?: 'RS256'
  readonly use?: 'sig'
}

export interface KeySet { readonly keys: readonly PublicKeyJwk[] }


const BASE64URL = /^[A-Za-z0-9_-]+$/
const KID = /^[\x21-\x7e]{1,256}$/
/** RFC 7517 §4: members of a private key. A set holding one is a leaked key, never something to store or trust. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

type Raw = Record<string, unknown>
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Why a key is not one the broker verifies RS256 tokens with, or undefined if it is (then it is checked in full). */
function notForRs256 (key: Raw): string | undefined {
  if (key.kty !== 'RSA') return `kty ${JSON.stringify(key.kty)}`
  if (key.use !== undefined && key.use !== 'sig') return `use ${JSON.stringify(key.use)}`
  if (key.alg !== undefined && key.alg !== 'RS256') return `alg ${JSON.stringify(key.alg)}`
  if (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes('verify'))) return 'key_ops without "verify"'
  return undefined
}

/** An RSA signing key as kept, or why it cannot verify anything (then it is skipped). */
function rsaKey (key: Raw): PublicKeyJwk | string {
  if (typeof key.kid !== 'string' || !KID.test(key.kid)) return 'no kid of 1 to 256 printable characters (GitLab names every key)'
  for (const m of ['n', 'e'] as const) {
    if (typeof key[m] !== 'string' || !BASE64URL.test(key[m] as string)) return `${m} is not base64url text`
  }
  const n = key.n as string
  const e = key.e as string
  const exponent = Buffer.from(e, 'base64url')
  if (exponent.length === 0 || exponent.length > 4 || exponent[0] === 0 || exponent.readUIntBE(0, exponent.length) < 3 || exponent[exponent.length - 1] % 2 === 0) {
    return 'e is not an odd public exponent from 3 to 2^32'
  }
  let bits: number | undefined
  try { bits = createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' }).asymmetricKeyDetails?.modulusLength }
  catch (err) { return `not a usable RSA public key (${err instanceof Error ? err.message : String(err)})` }
  if (bits === undefined || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return `a ${bits ?? '?'}-bit RSA key (RS256 keys have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits)`
  return { kty: 'RSA', kid: key.kid as string, n, e, ...(key.alg === 'RS256' && { alg: 'RS256' }), ...(key.use === 'sig' && { use: 'sig' }) }
}

/**
 * A JWK set as the broker keeps it. Keys it cannot verify RS256 signatures with (another kty, use or alg; no kid; a
 * malformed, too small or too large RSA key) are left out and named in `skipped`. Private key material anywhere, a
 * repeated kid, or no usable key at all is a KeySetInvalid listing every problem. Other members are dropped.
 */
export function parseKeySet (raw: unknown): { set: KeySet; skipped: string[] } {
  if (!isObject(raw) || !Array.isArray(raw.keys)) throw new KeySetInvalid(['not a JWK set (a JSON object with a "keys" array)'])
  if (raw.keys.length > MAX_KEYS) throw new KeySetInvalid([`${raw.keys.length} keys; at most ${MAX_KEYS} are kept`])
  const problems: string[] = []
  const skipped: string[] = []
  const keys: PublicKeyJwk[] = []
  raw.keys.forEach((key: unknown, i) => {
    const at = `keys[${i}]`
    if (!isObject(key)) return void problems.push(`${at} is not a JSON object`)
    const held = PRIVATE_MEMBERS.filter(m => key[m] !== undefined)
    if (held.length > 0) return void problems.push(`${at} holds private key material (${held.join(', ')}): give the public keys only`)
    const named = `${at}${typeof key.kid === 'string' ? ` (kid ${key.kid.slice(0, 64)})` : ''}`
    const other = notForRs256(key)
    if (other) return void skipped.push(`${named}: ${other}, not an RS256 signing key`)
    const parsed = rsaKey(key)
    if (typeof parsed === 'string') return void skipped.push(`${named}: ${parsed}`)
    if (keys.some(k => k.kid === parsed.kid)) return void problems.push(`${at} repeats the kid ${parsed.kid}`)
    keys.push(parsed)
  })
  if (problems.length === 0 && keys.length === 0) problems.push(`no RS256 signing key in the set${skipped.length ? ` (${skipped.join('; ')})` : ''}`)
  if (problems.length > 0) throw new KeySetInvalid(problems)
  return { set: { keys }, skipped }
}

/** The same keys, whatever their order: a re-fetched set that changed nothing is not written again. */
export function sameKeys (a: KeySet, b: KeySet): boolean {
  const text = (s: KeySet) => s.keys.map(k => JSON.stringify([k.kid, k.n, k.e, k.alg, k.use])).sort().join('\n')
  return text(a) === text(b)
}
