// Verifies a GitLab CI ID token: issuer allowlist first (no network for others), RS256 only, audience, time, claim shapes.
// The only file that imports jose. What the verified claims may do is match.ts's.
import { createHash } from 'node:crypto'
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose'
import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import { parseGitLabClaims } from './claims'
import type { GitLabClaims } from './claims'
import type { Config } from './config'
import { FetchRefused, InvalidToken, PayloadTooLarge, Unavailable } from './errors'
import { FETCH_TIMEOUT_MS, fetchCapped } from './fetch-capped'

export interface VerifiedToken {
  readonly claims: GitLabClaims
  /** SHA-256 of the token (hex): what the audit record keeps instead of the token. */
  readonly sha256: string
}

/** GitLab ID tokens are 1-2 KiB; a header cap well above that and well below API Gateway's. */
export const MAX_TOKEN_BYTES = 8192
/** Clock skew tolerated on exp / nbf / iat, seconds. */
export const LEEWAY_SECONDS = 30
/** After a failed discovery, wait this long before asking the issuer again (a flood must not become our flood). */
const DISCOVERY_COOLDOWN_MS = 30_000
/** Keys are refetched on an unknown kid at most every 30 s (jose's cooldown) and at least every 10 min. */
const JWKS_COOLDOWN_MS = 30_000
const JWKS_MAX_AGE_MS = 600_000
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

export function sha256Hex (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

type KeySource = { keys: JWTVerifyGetKey } | { failedAt: number; error: Unavailable }
interface SourceEntry { readonly pending: Promise<KeySource>; settled?: KeySource }

/** Where the broker's fetches of issuer documents go; a seam for tests and benchmarks to count them. */
export interface IssuerFetchStats { discovery: number; jwks: number }

export interface TokenVerifier {
  (jwt: string, now: Date): Promise<VerifiedToken>
  readonly stats: IssuerFetchStats
}

export interface TokenVerifierOptions {
  /** Milliseconds since the epoch, for the cooldowns after a failed fetch; default Date.now (a seam for tests). */
  readonly clock?: () => number
}

/**
 * Builds the verifier for a config. JWKS sets live in the returned closure, so a warm container keeps its keys.
 */
export function createTokenVerifier (config: Pick<Config, 'issuers' | 'audience' | 'allowHttpIssuers'>, options: TokenVerifierOptions = {}): TokenVerifier {
  const trusted = new Set(config.issuers)
  const sources = new Map<string, SourceEntry>()
  const stats: IssuerFetchStats = { discovery: 0, jwks: 0 }
  const clock = options.clock ?? Date.now

  async function discover (issuer: string): Promise<KeySource> {
    stats.discovery++
    try {
      const response = await fetchCapped(`${issuer}/.well-known/openid-configuration`)
      const doc: unknown = await response.json()
      if (typeof doc !== 'object' || doc === null) throw new FetchRefused('the discovery document is not a JSON object')
      const { issuer: named, jwks_uri: jwksUri } = doc as Record<string, unknown>
      if (named !== issuer) throw new FetchRefused(`the discovery document names issuer ${JSON.stringify(named)}`)
      if (typeof jwksUri !== 'string') throw new FetchRefused('the discovery document has no jwks_uri')
      const jwks = new URL(jwksUri)
      // The keys must come from the issuer's own origin: a discovery document cannot send us elsewhere.
      if (jwks.origin !== new URL(issuer).origin) throw new FetchRefused(`jwks_uri ${jwksUri} is not on the issuer's origin`)
      // jose waits out its cooldown only after a successful fetch; after a failed one it would fetch again for every
      // request (an unknown kid, or no keys yet). So a failure starts our own cooldown, in which nothing is fetched.
      let failedAt = -Infinity
      const fetchKeys = async (url: string, init: { headers?: Headers; signal?: AbortSignal }): Promise<Response> => {
        if (clock() - failedAt < JWKS_COOLDOWN_MS) throw new FetchRefused(`${url} failed less than ${JWKS_COOLDOWN_MS / 1000} s ago; not asking again yet`)
        stats.jwks++
        try {
          const response = await fetchCapped(url, init)
          const set: unknown = await response.clone().json()
          if (typeof set !== 'object' || set === null || !Array.isArray((set as { keys?: unknown }).keys)) throw new FetchRefused(`${url} is not a JWK set`)
          return response
        }
        catch (err) {
          failedAt = clock()
          throw err
        }
      }
      const remote = createRemoteJWKSet(jwks, {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        [customFetch]: fetchKeys,
      })
      const keys: JWTVerifyGetKey = async (header, token) => {
        try { return await remote(header, token) }
        catch (err) {
          if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err
          throw new Unavailable(`The token issuer's keys could not be fetched from ${issuer}; try again shortly.`, { cause: err })
        }
      }
      return { keys }
    }
    catch (cause) {
      const error = new Unavailable(`The token issuer ${issuer} could not be reached for its discovery document; try again shortly.`,
        { cause, detail: cause instanceof Error ? cause.message : String(cause) })
      return { failedAt: clock(), error }
    }
  }

  async function keysFor (issuer: string): Promise<JWTVerifyGetKey> {
    // Decided synchronously, so a burst of requests after a failure's cooldown starts one discovery, not one each.
    let entry = sources.get(issuer)
    const settled = entry?.settled
    if (!entry || (settled && 'failedAt' in settled && clock() - settled.failedAt > DISCOVERY_COOLDOWN_MS)) {
      const fresh: SourceEntry = { pending: discover(issuer) }
      fresh.pending.then(result => { fresh.settled = result }, () => undefined)
      sources.set(issuer, fresh)
      entry = fresh
    }
    const source = await entry.pending
    if ('error' in source) throw source.error
    return source.keys
  }

  const verify = async (jwt: string, now: Date): Promise<VerifiedToken> => {
    if (Buffer.byteLength(jwt) > MAX_TOKEN_BYTES) throw new PayloadTooLarge(`The ID token is larger than ${MAX_TOKEN_BYTES} bytes.`)
    if (!COMPACT_JWS.test(jwt)) throw new InvalidToken('The ID token is not a signed JWT (expected three base64url parts).')
    // base64url's last character may carry spare bits that decoders ignore: one signed token has up to 16 spellings.
    // Only the canonical one is taken, so the token's SHA-256 (the key of its maxUses counter and audit trail) is its own.
    const parts = jwt.split('.')
    const bytes = parts.map(part => Buffer.from(part, 'base64url'))
    if (!bytes.every((decoded, i) => decoded.toString('base64url') === parts[i])) {
      throw new InvalidToken('The ID token is not canonically base64url-encoded.')
    }
    // Read here only to refuse early and to pick the issuer's keys: jwtVerify decodes and checks the token on its own.
    let header: Readonly<Record<string, unknown>>
    let payload: Readonly<Record<string, unknown>>
    try {
      header = jsonObject(bytes[0])
      if (header.alg !== 'RS256') throw new InvalidToken(`The ID token is signed with ${JSON.stringify(header.alg)}; only RS256 is accepted.`)
      // RFC 7515 §4.1.11: a critical extension we do not implement must be refused; RFC 7797 (b64) is one. GitLab uses
      // neither parameter, so both are refused outright (jwtVerify let a b64 outside crit through).
      if (header.crit !== undefined || header.b64 !== undefined) throw new InvalidToken('The ID token uses JWS extensions (crit, b64) the broker does not accept.')
      payload = jsonObject(bytes[1])
    }
    catch (err) {
      if (err instanceof InvalidToken) throw err
      throw new InvalidToken('The ID token could not be decoded.', { cause: err })
    }
    // Checked before any network call: discovery and keys are fetched only for configured issuers.
    const iss = payload.iss
    if (typeof iss !== 'string' || !trusted.has(iss)) {
      throw new InvalidToken(`The ID token's issuer ${JSON.stringify(iss)} is not trusted by this broker (BROKER_ISSUERS).`)
    }
    const keys = await keysFor(iss)
    let verified: JWTPayload
    try {
      ({ payload: verified } = await jwtVerify(jwt, keys, {
        algorithms: ['RS256'],
        issuer: iss,
        audience: config.audience,
        clockTolerance: LEEWAY_SECONDS,
        currentDate: now,
        // jti and sub too, but with the rest of GitLab's claims (claims.ts), so one answer names every one missing.
        requiredClaims: ['exp', 'iat'],
      }))
    }
    catch (err) {
      throw translate(err, payload, config.audience)
    }
    if (typeof verified.iat === 'number' && verified.iat > now.getTime() / 1000 + LEEWAY_SECONDS) {
      throw new InvalidToken('The ID token\'s "iat" is in the future; check the issuer\'s clock.')
    }
    return { claims: parseGitLabClaims(verified), sha256: sha256Hex(jwt) }
  }
  return Object.assign(verify, { stats })
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
  if (err instanceof errors.JWTExpired) return new InvalidToken('The ID token has expired; request a fresh one (id_tokens:).', { cause: err })
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      const has = payload.aud === undefined ? 'no audience' : `the audience ${JSON.stringify(payload.aud)}`
      return new InvalidToken(`The ID token has ${has}; this broker accepts only ${JSON.stringify(audience)}. ` +
        `Set it as the token's aud in the job's id_tokens: (e.g. BROKER_ID_TOKEN: { aud: ${audience} }).`, { cause: err, detail: err.reason })
    }
    const reason = CLAIM_REASONS[err.reason] ?? `is not valid (${err.reason})`
    return new InvalidToken(`The ID token's "${err.claim}" claim ${reason}.`, { cause: err, detail: err.reason })
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidToken('The ID token\'s signature does not verify.', { cause: err })
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new InvalidToken('The ID token\'s key (kid) is not one of its issuer\'s keys.', { cause: err })
  if (err instanceof errors.JWKSTimeout) return new Unavailable('The token issuer\'s keys could not be fetched in time; try again shortly.', { cause: err })
  if (err instanceof errors.JOSEError) return new InvalidToken('The ID token is not valid.', { cause: err, detail: err.code })
  // jose refuses unusable keys with a TypeError (e.g. an RSA key under 2048 bits, RFC 7518 §3.3): still the token's failure.
  if (err instanceof TypeError) return new InvalidToken('The ID token cannot be verified with its issuer\'s key.', { cause: err, detail: err.message })
  return err instanceof Error ? err : new Error(String(err))
}
