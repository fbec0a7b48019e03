// Verifies an AWS Signature Version 4 `Authorization` header by re-signing the request with the AWS SDK's own signer.
// Leaves key storage to the caller's `SecretLookup`; presigned (query-string) auth, SigV4a and chunked payloads are refused.
import { createHash, timingSafeEqual } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { NodeSha256 } from '../broker/node-sha256'

export interface SignedRequest {
  method: string
  /** The request path as it came on the wire (still percent-encoded). */
  path: string
  /** The raw query string without `?`; may be `''`. */
  query: string
  /** Header names in any case; a repeated header as an array, in the order received. */
  headers: Record<string, string | string[] | undefined>
  body: string | Buffer
}

export interface SecretLookup {
  (accessKeyId: string): { secretAccessKey: string; sessionToken?: string; expiration?: Date } | undefined
}

export interface VerifyOptions {
  now: Date
  /** Allowed clock difference, seconds (AWS: 15 minutes). Default 900. */
  maxSkewSeconds?: number
  /** The expected signing service, e.g. `sts`; undefined accepts any. */
  service?: string
  /** The expected signing region; undefined accepts any. */
  region?: string
  /**
   * Accept a session token sent but left out of `SignedHeaders` (aws-c-auth's `omit_session_token`,
   * vector `post-sts-header-after`). Default false: a temporary credential must sign its token.
   */
  allowUnsignedSessionToken?: boolean
}

export interface Verified {
  accessKeyId: string
  region: string
  service: string
  signedHeaders: string[]
}

export type SigV4ErrorCode =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'InvalidClientTokenId'
  | 'SignatureDoesNotMatch'
  | 'RequestExpired'
  | 'ExpiredToken'
  | 'InvalidToken'
  | 'MalformedQueryString'

// HTTP statuses from the AWS Query API "Common Errors" list (RequestExpired is a 400, the rest 403).
const STATUS: Record<SigV4ErrorCode, number> = {
  MissingAuthenticationToken: 403,
  IncompleteSignature: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  RequestExpired: 400,
  ExpiredToken: 403,
  InvalidToken: 403,
  MalformedQueryString: 404,
}

export class SigV4Error extends Error {
  readonly code: SigV4ErrorCode
  readonly status: number
  constructor (code: SigV4ErrorCode, message: string) {
    super(message)
    this.name = 'SigV4Error'
    this.code = code
    this.status = STATUS[code]
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256'
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/
const INVALID_TOKEN = 'The security token included in the request is invalid.'

export async function verifySigV4 (req: SignedRequest, lookup: SecretLookup, opts: VerifyOptions): Promise<Verified> {
  const headers = normaliseHeaders(req.headers)
  const query = parseQuery(req.query)
  const auth = parseAuthorization(headers, query)
  const date = readAmzDate(headers)
  checkScope(auth, date, opts)
  checkSkew(date, opts)

  const secret = lookup(auth.accessKeyId)
  if (!secret) throw new SigV4Error('InvalidClientTokenId', INVALID_TOKEN)
  const sessionToken = checkSessionToken(headers, auth.signedHeaders, secret, opts)
  checkPayloadHash(headers, auth.signedHeaders, req.body)

  const expected = await resignature(req, headers, query, auth, date, {
    accessKeyId: auth.accessKeyId,
    secretAccessKey: secret.secretAccessKey,
    sessionToken,
  })
  const given = Buffer.from(auth.signature, 'hex')
  if (expected.signedHeaders !== auth.signedHeaders.join(';') || !timingSafeEqual(Buffer.from(expected.signature, 'hex'), given)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
        'Consult the service documentation for details.'
    )
  }
  return { accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service, signedHeaders: auth.signedHeaders }
}

interface Authorization {
  accessKeyId: string
  scopeDate: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

/** Lower-cased names; repeated headers (and names differing only in case) keep every value in order. */
function normaliseHeaders (raw: SignedRequest['headers']): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    const key = name.toLowerCase()
    out.set(key, [...(out.get(key) ?? []), ...(Array.isArray(value) ? value : [value])])
  }
  return out
}

function single (headers: Map<string, string[]>, name: string): string | undefined {
  const values = headers.get(name)
  if (!values) return undefined
  if (values.length !== 1) throw new SigV4Error('IncompleteSignature', `Only one '${name}' header is allowed.`)
  return values[0].trim()
}

/**
 * Query parameters as the signer wants them: decoded keys and values, repeated keys as arrays.
 * `+` decodes to a space, as AWS Query services (and curl's `--aws-sigv4`) read it.
 */
function parseQuery (raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null)
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const key = decode(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1))
    const prior = query[key]
    query[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value]
  }
  return query
}

function decode (component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '))
  }
  catch {
    throw new SigV4Error('MalformedQueryString', `The query string contains an invalid percent-encoding: '${component}'.`)
  }
}

function parseAuthorization (headers: Map<string, string[]>, query: Record<string, string | string[]>): Authorization {
  const header = headers.get('authorization')
  if (!header) {
    const presigned = Object.keys(query).some(k => k.toLowerCase() === 'x-amz-signature')
    throw new SigV4Error(
      'MissingAuthenticationToken',
      presigned ? 'Query-string (presigned) authentication is not supported here; sign the Authorization header.' : 'Request is missing Authentication Token'
    )
  }
  // The signer leaves X-Amz-Signature out of the canonical query, so a second signature could ride along unsigned.
  if (Object.keys(query).some(k => k.toLowerCase() === 'x-amz-signature')) {
    throw new SigV4Error('IncompleteSignature', 'Only one auth mechanism allowed; only the Authorization header is accepted.')
  }
  if (header.length !== 1) throw new SigV4Error('IncompleteSignature', "Only one 'authorization' header is allowed.")
  const value = header[0].trim()
  const space = value.indexOf(' ')
  const algorithm = space < 0 ? value : value.slice(0, space)
  if (algorithm !== ALGORITHM) throw new SigV4Error('IncompleteSignature', `Unsupported AWS 'algorithm': '${algorithm}'.`)

  const fields = new Map<string, string>()
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  for (const required of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.has(required)) throw new SigV4Error('IncompleteSignature', `Authorization header requires '${required}' parameter.`)
  }

  const credential = fields.get('Credential')!.split('/')
  if (credential.length !== 5 || !/^\d{8}$/.test(credential[1]) || credential[4] !== 'aws4_request' || credential.some(c => c === '')) {
    throw new SigV4Error('IncompleteSignature', "Credential must have the form 'AccessKeyId/yyyymmdd/region/service/aws4_request'.")
  }
  const signedHeaders = fields.get('SignedHeaders')!.split(';')
  if (signedHeaders.some(h => !HEADER_NAME.test(h))) {
    throw new SigV4Error('IncompleteSignature', 'SignedHeaders must list lower-case header names separated by semicolons.')
  }
  const signature = fields.get('Signature')!
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new SigV4Error('IncompleteSignature', 'Signature must be 64 lower-case hex digits.')

  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) throw new SigV4Error('IncompleteSignature', `'${required}' must be a 'SignedHeader' in the AWS Authorization.`)
  }
  // The SDK signer drops and regenerates `authorization` and `date` (prepareRequest), so it can never reproduce them.
  for (const refused of ['authorization', 'date']) {
    if (signedHeaders.includes(refused)) throw new SigV4Error('IncompleteSignature', `'${refused}' cannot be a 'SignedHeader' here; sign 'x-amz-date' instead.`)
  }
  const [accessKeyId, scopeDate, region, service] = credential
  return { accessKeyId, scopeDate, region, service, signedHeaders, signature }
}

function readAmzDate (headers: Map<string, string[]>): { long: string; at: Date } {
  const long = single(headers, 'x-amz-date')
  if (long === undefined) throw new SigV4Error('IncompleteSignature', "Authorization header requires existence of a 'X-Amz-Date' header.")
  const m = AMZ_DATE.exec(long)
  const at = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined
  if (!m || !at || at.toISOString().replace(/[-:]|\.\d{3}/g, '') !== long) {
    throw new SigV4Error('IncompleteSignature', `X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z', got '${long}'.`)
  }
  return { long, at }
}

function checkScope (auth: Authorization, date: { long: string }, opts: VerifyOptions): void {
  if (auth.scopeDate !== date.long.slice(0, 8)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${date.long.slice(0, 8)}', ` +
        `from '${date.long}'.`
    )
  }
  if (opts.service !== undefined && auth.service !== opts.service) {
    throw new SigV4Error('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${opts.service}'.`)
  }
  if (opts.region !== undefined && auth.region !== opts.region) {
    throw new SigV4Error('SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${auth.region}'.`)
  }
}

function checkSkew (date: { long: string; at: Date }, opts: VerifyOptions): void {
  const skewMs = (opts.maxSkewSeconds ?? 900) * 1000
  const now = opts.now.getTime()
  const minutes = `${Math.round(skewMs / 60_000)} min.`
  if (date.at.getTime() < now - skewMs) {
    throw new SigV4Error('RequestExpired', `Signature expired: ${date.long} is now earlier than ${amzDate(now - skewMs)} (${amzDate(now)} - ${minutes})`)
  }
  if (date.at.getTime() > now + skewMs) {
    throw new SigV4Error('RequestExpired',
      `Signature not yet current: ${date.long} is still later than ${amzDate(now + skewMs)} (${amzDate(now)} + ${minutes})`)
  }
}

function amzDate (ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '')
}

/** Returns the session token to sign with, or undefined when none is (or may stay) unsigned. */
function checkSessionToken (
  headers: Map<string, string[]>,
  signedHeaders: string[],
  secret: NonNullable<ReturnType<SecretLookup>>,
  opts: VerifyOptions
): string | undefined {
  const sent = headers.get('x-amz-security-token')
  if (sent && sent.length !== 1) throw new SigV4Error('InvalidToken', INVALID_TOKEN)
  const token = sent?.[0].trim()
  if (secret.sessionToken === undefined) {
    if (token !== undefined) throw new SigV4Error('InvalidToken', INVALID_TOKEN)
    return undefined
  }
  if (token === undefined || !sameText(token, secret.sessionToken)) throw new SigV4Error('InvalidToken', INVALID_TOKEN)
  const signed = signedHeaders.includes('x-amz-security-token')
  if (!signed && !opts.allowUnsignedSessionToken) {
    throw new SigV4Error('IncompleteSignature', "'x-amz-security-token' must be a 'SignedHeader' for temporary credentials.")
  }
  if (secret.expiration && opts.now.getTime() >= secret.expiration.getTime()) {
    throw new SigV4Error('ExpiredToken', 'The security token included in the request is expired')
  }
  return signed ? token : undefined
}

/** The signer trusts a present `x-amz-content-sha256` as the payload hash, so hold it to the body here. */
function checkPayloadHash (headers: Map<string, string[]>, signedHeaders: string[], body: string | Buffer): void {
  if (!signedHeaders.includes('x-amz-content-sha256')) return
  const claimed = single(headers, 'x-amz-content-sha256')
  const actual = createHash('sha256').update(body).digest('hex')
  if (claimed === undefined || !sameText(claimed, actual)) {
    throw new SigV4Error('SignatureDoesNotMatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
  }
}

function sameText (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Re-signs the request as the SDK would sign it: exactly the signed headers (each repeated value trimmed,
 * then comma-joined, per the SigV4 canonical-headers rule), the decoded query as an object, the raw path
 * (the signer normalises and escapes it again, as every service but S3 expects), at the request's own date.
 */
async function resignature (
  req: SignedRequest,
  headers: Map<string, string[]>,
  query: Record<string, string | string[]>,
  auth: Authorization,
  date: { at: Date },
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
): Promise<{ signature: string; signedHeaders: string }> {
  const toSign: Record<string, string> = Object.create(null)
  for (const name of auth.signedHeaders) {
    const values = headers.get(name)
    // An unsigned-but-allowed token stays out; the signer adds the signed one back from `credentials`.
    if (values && (name !== 'x-amz-security-token' || credentials.sessionToken !== undefined)) {
      toSign[name] = values.map(v => v.trim()).join(',')
    }
  }
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  })
  const signed = await signer.sign(
    { method: req.method, protocol: 'https:', hostname: 'localhost', path: req.path, query, headers: toSign, body: req.body },
    { signingDate: date.at, signableHeaders: new Set(auth.signedHeaders) }
  )
  const m = /SignedHeaders=([^,]*), Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))
  if (!m) throw new Error('the SDK signer produced no Authorization header')
  return { signedHeaders: m[1], signature: m[2] }
}
