// Verifies a GitLab CI ID token: issuer allowlist first (no network for others), RS256 only, audience, time, claim shapes.
// The only file that imports jose (the console's sign-in ID tokens go through the same rules). Which keys it verifies
// with is key-ring.ts's; what the verified claims may do is match.ts's.
import { createHash } from 'node:crypto'
import { createLocalJWKSet, errors, jwtVerify } from 'jose'
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose'
import { parseGitLabClaims } from './claims'
import type { GitLabClaims } from './claims'
import type { Config } from './config'
import { InvalidToken, PayloadTooLarge, Unavailable } from './errors'
import type { IssuerFetchStats } from './issuer-fetch'
export type { IssuerFetchStats } from './issuer-fetch'
import { createKeyRing } from './key-ring'
import type { KeyRing, KeyRingOptions } from './key-ring'
import type { KeySet } from './key-set'

export interface Verified<C> {
  readonly claims: C
  /** SHA-256 of the token (hex): what the audit record keeps instead of the token. */
  readonly sha256: string
}

export type VerifiedToken = Verified<GitLabClaims>

/** GitLab ID tokens are 1-2 KiB; a header cap well above that and well below API Gateway's. */
export const MAX_TOKEN_BYTES = 8192
/** Clock skew tolerated on exp / nbf / iat, seconds. */
export const LEEWAY_SECONDS = 30
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

export function sha256Hex (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** A token that passed every check made before any I/O: size, shape, RS256, no extensions, a trusted issuer. */
export interface UnverifiedToken {
  readonly jwt: string
  readonly issuer: string
  /** The header's kid, as the token names it (never trusted: it only picks a key). */
  readonly kid: unknown
  /** Decoded, NOT verified: for choosing what to read alongside the keys, and for saying what a wrong claim holds. */
  readonly payload: Readonly<Record<string, unknown>>
}

export interface JwtVerifier<C> {
  (jwt: string, now: Date): Promise<Verified<C>>
  /** The checks made before any network call (401 or 413); what verifyRead then verifies. */
  read (jwt: string): UnverifiedToken
  verifyRead (token: UnverifiedToken, now: Date): Promise<Verified<C>>
  /** The keys it verifies with, per issuer: what the request path feeds from the table. */
  readonly keys: KeyRing
  readonly stats: IssuerFetchStats
}

export type TokenVerifier = JwtVerifier<GitLabClaims>

export type TokenVerifierOptions = Omit<KeyRingOptions, 'tableOnly'>

type VerifierConfig = Pick<Config, 'issuers' | 'audience' | 'allowHttpIssuers'> & Partial<Pick<Config, 'tableOnlyIssuers'>>

/**
 * Builds the verifier of GitLab CI ID tokens for a config. Its keys live in the returned closure (a KeyRing), so a warm
 * container keeps them.
 */
export function createTokenVerifier (config: VerifierConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  return createJwtVerifier(config, parseGitLabClaims, options)
}

/**
 * The same verifier for any ID token of a trusted issuer: every rule above, then `readClaims` checks the claim set's
 * shape (GitLab CI's, or the console's sign-in claims) and throws InvalidToken when it is not one it accepts.
 */
export function createJwtVerifier<C> (config: VerifierConfig, readClaims: (payload: Record<string, unknown>) => C,
  options: TokenVerifierOptions = {}): JwtVerifier<C> {
  const trusted = new Set(config.issuers)
  const ring = createKeyRing({ ...options, tableOnly: config.tableOnlyIssuers ?? [] })
  /** jose's key lookup per set, so a warm container imports each key once. */
  const lookups = new WeakMap<KeySet, JWTVerifyGetKey>()
  const lookup = (set: KeySet): JWTVerifyGetKey => {
    let found = lookups.get(set)
    if (!found) lookups.set(set, found = createLocalJWKSet(set as unknown as JSONWebKeySet))
    return found
  }

  function read (jwt: string): UnverifiedToken {
    if (Buffer.byteLength(jwt) > MAX_TOKEN_BYTES) throw new PayloadTooLarge(`The ID token is larger than ${MAX_TOKEN_BYTES} bytes.`)
    if (!COMPACT_JWS.test(jwt)) throw new InvalidToken('The ID token is not a signed JWT (expected three base64url parts).', { reason: 'malformed' })
    // base64url's last character may carry spare bits that decoders ignore: one signed token has up to 16 spellings.
    // Only the canonical one is taken, so the token's SHA-256 (the key of its maxUses counter and audit trail) is its own.
    const parts = jwt.split('.')
    const bytes = parts.map(part => Buffer.from(part, 'base64url'))
    if (!bytes.every((decoded, i) => decoded.toString('base64url') === parts[i])) {
      throw new InvalidToken('The ID token is not canonically base64url-encoded.', { reason: 'malformed' })
    }
    // Read here only to refuse early and to pick the issuer's keys: jwtVerify decodes and checks the token on its own.
    let header: Readonly<Record<string, unknown>>
    let payload: Readonly<Record<string, unknown>>
    try {
      header = jsonObject(bytes[0])
      if (header.alg !== 'RS256') throw new InvalidToken(`The ID token is signed with ${JSON.stringify(header.alg)}; only RS256 is accepted.`, { reason: 'algorithm' })
      // RFC 7515 §4.1.11: a critical extension we do not implement must be refused; RFC 7797 (b64) is one. GitLab uses
      // neither parameter, so both are refused outright (jwtVerify let a b64 outside crit through).
      if (header.crit !== undefined || header.b64 !== undefined) throw new InvalidToken('The ID token uses JWS extensions (crit, b64) the broker does not accept.', { reason: 'malformed' })
      payload = jsonObject(bytes[1])
    }
    catch (err) {
      if (err instanceof InvalidToken) throw err
      throw new InvalidToken('The ID token could not be decoded.', { reason: 'malformed', cause: err })
    }
    // Checked before any network call: keys are read or fetched only for configured issuers.
    const iss = payload.iss
    if (typeof iss !== 'string' || !trusted.has(iss)) {
      throw new InvalidToken(`The ID token's issuer ${JSON.stringify(iss)} is not trusted by this broker (BROKER_ISSUERS).`, { reason: 'untrusted_issuer' })
    }
    return { jwt, issuer: iss, kid: header.kid, payload }
  }

  async function verifyRead (token: UnverifiedToken, now: Date): Promise<Verified<C>> {
    const { jwt, issuer, payload } = token
    const verifyWith = async (set: KeySet): Promise<JWTPayload> => {
      try {
        const { payload: verified } = await jwtVerify(jwt, lookup(set), {
          algorithms: ['RS256'],
          issuer,
          audience: config.audience,
          clockTolerance: LEEWAY_SECONDS,
          currentDate: now,
          // jti and sub too, but with the rest of GitLab's claims (claims.ts), so one answer names every one missing.
          requiredClaims: ['exp', 'iat'],
        })
        return verified
      }
      catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey) throw err
        throw translate(err, payload, config.audience)
      }
    }
    let verified: JWTPayload
    try { verified = await verifyWith(await ring.current(issuer)) }
    catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err
      // A kid the known keys lack: the issuer may have rotated. A newer set, if there is one, decides; else 401.
      const newer = await ring.refresh(issuer, token.kid)
      if (!newer) throw translate(err, payload, config.audience)
      try { verified = await verifyWith(newer) }
      catch (again) { throw translate(again, payload, config.audience) }
    }
    if (typeof verified.iat === 'number' && verified.iat > now.getTime() / 1000 + LEEWAY_SECONDS) {
      throw new InvalidToken('The ID token\'s "iat" is in the future; check the issuer\'s clock.', { reason: 'claim' })
    }
    return { claims: readClaims(verified), sha256: sha256Hex(jwt) }
  }

  const verify = (jwt: string, now: Date) => verifyRead(read(jwt), now)
  return Object.assign(verify, { read, verifyRead, keys: ring, stats: ring.stats })
}

/** A JOSE header or JWT claims set: UTF-8 JSON of an object (throws otherwise). */
function jsonObject (bytes: Buffer): Readonly<Record<string, unknown>> {
  const value: unknown = JSON.parse(bytes.toString('utf8'))
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('not a JSON object')
  return value as Record<string, unknown>
}

/** What jose's claim-check reasons mean, in words. */
const CLAIM_REASONS: Record<string, string> = { missing: 'is missing', check_failed: 'does not have the value this broker requires', invalid: 'is malformed' }

/**
 * jose's failures as the contract's: the caller's token is 401; the issuer being unreachable is 503. `payload` is the
 * token's (decoded, not trusted) payload, for saying what a wrong claim holds: never the token itself.
 */
function translate (err: unknown, payload: Readonly<Record<string, unknown>>, audience: string): Error {
  if (err instanceof Unavailable || err instanceof InvalidToken) return err
  if (err instanceof errors.JWTExpired) return new InvalidToken('The ID token has expired; request a fresh one (id_tokens:).', { reason: 'expired', cause: err })
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      const has = payload.aud === undefined ? 'no audience' : `the audience ${JSON.stringify(payload.aud)}`
      return new InvalidToken(`The ID token has ${has}; this broker accepts only ${JSON.stringify(audience)}. ` +
        `Set it as the token's aud in the job's id_tokens: (e.g. BROKER_ID_TOKEN: { aud: ${audience} }).`, { reason: 'audience', cause: err, detail: err.reason })
    }
    const reason = CLAIM_REASONS[err.reason] ?? `is not valid (${err.reason})`
    return new InvalidToken(`The ID token's "${err.claim}" claim ${reason}.`, { reason: 'claim', cause: err, detail: err.reason })
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidToken('The ID token\'s signature does not verify.', { reason: 'signature', cause: err })
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new InvalidToken('The ID token\'s key (kid) is not one of its issuer\'s keys.', { reason: 'unknown_key', cause: err })
  if (err instanceof errors.JWKSTimeout) return new Unavailable('The token issuer\'s keys could not be fetched in time; try again shortly.', { cause: err })
  if (err instanceof errors.JOSEError) return new InvalidToken('The ID token is not valid.', { reason: 'invalid', cause: err, detail: err.code })
  // jose refuses unusable keys with a TypeError (e.g. an RSA key under 2048 bits, RFC 7518 §3.3): still the token's failure.
  if (err instanceof TypeError) return new InvalidToken('The ID token cannot be verified with its issuer\'s key.', { reason: 'unusable_key', cause: err, detail: err.message })
  return err instanceof Error ? err : new Error(String(err))
}
