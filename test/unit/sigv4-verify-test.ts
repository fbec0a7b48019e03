// Spec for src/local/sigv4-verify.ts: AWS's official SigV4 vectors are accepted, and refused once any signed part changes.
// The vectors are vendored in test/vectors/sigv4 (Apache-2.0, LICENSE and NOTICE there; their README says which cases apply);
// the SDK signer makes the rest.
import fs from 'node:fs'
import path from 'node:path'
import test from 'tape'
import fc from 'fast-check'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256Js } from '@smithy/core/checksum'
import { verifySigV4, SigV4Error, type SecretLookup, type SignedRequest, type VerifyOptions } from '../../src/local/sigv4-verify'

const VECTORS = path.join(__dirname, '..', 'vectors', 'sigv4')
// README: S3-only unnormalised paths, obsolete header folding and raw bytes on the request line are not for an STS verifier.
const NOT_FOR_STS = [/-unnormalized$/, /^get-header-value-multiline$/, /^get-space-/, /^get-utf8$/]

interface Vector {
  name: string
  request: SignedRequest
  lookup: SecretLookup
  opts: VerifyOptions
  secret: string
  token?: string
  omitSessionToken: boolean
  signedHeaders: string[]
}

/** A raw HTTP/1.1 request as the vectors write it: `Name:value` lines, repeated names kept in order. */
function parseRawRequest (text: string): SignedRequest {
  const blank = text.indexOf('\n\n')
  const head = (blank < 0 ? text : text.slice(0, blank)).split('\n')
  const body = blank < 0 ? '' : text.slice(blank + 2)
  const requestLine = head[0]
  const method = requestLine.slice(0, requestLine.indexOf(' '))
  const target = requestLine.slice(method.length + 1, requestLine.lastIndexOf(' '))
  const q = target.indexOf('?')
  const headers: Record<string, string | string[]> = {}
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon)
    const value = line.slice(colon + 1)
    const prior = headers[name]
    headers[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value]
  }
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers, body }
}

function loadVector (name: string): Vector {
  const dir = path.join(VECTORS, name)
  const context = JSON.parse(fs.readFileSync(path.join(dir, 'context.json'), 'utf8'))
  const request = parseRawRequest(fs.readFileSync(path.join(dir, 'header-signed-request.txt'), 'utf8'))
  const now = new Date(context.timestamp)
  const expiration = new Date(now.getTime() + context.expiration_in_seconds * 1000)
  const { access_key_id: id, secret_access_key: secret, token } = context.credentials
  const lookup: SecretLookup = akid => (akid === id ? { secretAccessKey: secret, sessionToken: token, expiration } : undefined)
  const auth = String(headerOf(request, 'authorization'))
  return {
    name,
    request,
    lookup,
    opts: { now, allowUnsignedSessionToken: context.omit_session_token === true },
    secret,
    token,
    omitSessionToken: context.omit_session_token === true,
    signedHeaders: /SignedHeaders=([^,]+)/.exec(auth)![1].split(';'),
  }
}

function headerOf (req: SignedRequest, name: string): string | string[] | undefined {
  const key = Object.keys(req.headers).find(k => k.toLowerCase() === name)
  return key === undefined ? undefined : req.headers[key]
}

/** A copy of the request with one header's (last) value changed; `undefined` removes it. */
function withHeader (req: SignedRequest, name: string, change: (v: string) => string | undefined): SignedRequest {
  const headers: SignedRequest['headers'] = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() !== name) headers[k] = v
    else if (Array.isArray(v)) headers[k] = [...v.slice(0, -1), change(v[v.length - 1])!]
    else headers[k] = v === undefined ? v : change(v)
  }
  return { ...req, headers }
}

async function refusal (run: Promise<unknown>): Promise<string> {
  try {
    await run
    return 'accepted'
  }
  catch (err) {
    return err instanceof SigV4Error ? err.code : `unexpected ${String(err)}`
  }
}

const cases = fs
  .readdirSync(VECTORS, { withFileTypes: true })
  .filter(d => d.isDirectory() && !NOT_FOR_STS.some(re => re.test(d.name)))
  .map(d => d.name)
  .sort()

test('the vectors folder is found beside the repo', t => {
  t.plan(2)
  t.ok(fs.existsSync(path.join(VECTORS, 'README.md')), 'the README is there')
  t.ok(cases.length >= 25, `${cases.length} cases apply to an STS verifier`)
})

for (const name of cases) {
  test(`vector ${name}`, async t => {
    const v = loadVector(name)
    const skew = (seconds: number): VerifyOptions => ({ ...v.opts, now: new Date(v.opts.now.getTime() + seconds * 1000) })
    const amzDate = String(headerOf(v.request, 'x-amz-date'))
    const nextSecond = amzDate.replace(/\d\dZ$/, s => `${String((Number(s.slice(0, 2)) + 1) % 60).padStart(2, '0')}Z`)

    const refusals: Array<[string, Promise<unknown>, string]> = [
      ['a changed path is refused', verifySigV4({ ...v.request, path: `${v.request.path}x` }, v.lookup, v.opts), 'SignatureDoesNotMatch'],
      ['a changed query is refused', verifySigV4({ ...v.request, query: v.request.query ? `${v.request.query}x` : 'x=1' }, v.lookup, v.opts),
        'SignatureDoesNotMatch'],
      ['a changed X-Amz-Date is refused', verifySigV4(withHeader(v.request, 'x-amz-date', () => nextSecond), v.lookup, v.opts), 'SignatureDoesNotMatch'],
      ['a changed body is refused', verifySigV4({ ...v.request, body: `${v.request.body}x` }, v.lookup, v.opts), 'SignatureDoesNotMatch'],
      ['a wrong secret is refused', verifySigV4(v.request, () => ({ secretAccessKey: `${v.secret}x`, sessionToken: v.token }), v.opts),
        'SignatureDoesNotMatch'],
      ['an unknown access key id is refused', verifySigV4(v.request, () => undefined, v.opts), 'InvalidClientTokenId'],
      ['a clock 16 minutes ahead refuses it', verifySigV4(v.request, v.lookup, skew(16 * 60)), 'RequestExpired'],
      ['a clock 16 minutes behind refuses it', verifySigV4(v.request, v.lookup, skew(-16 * 60)), 'RequestExpired'],
    ]
    for (const h of v.signedHeaders.filter(h => h !== 'x-amz-date')) {
      const code = h === 'x-amz-security-token' ? 'InvalidToken' : 'SignatureDoesNotMatch'
      refusals.push([`a changed '${h}' header is refused`, verifySigV4(withHeader(v.request, h, x => `${x}x`), v.lookup, v.opts), code])
    }
    if (v.token !== undefined) {
      const longTerm: SecretLookup = () => ({ secretAccessKey: v.secret })
      const expired: SecretLookup = () => ({ secretAccessKey: v.secret, sessionToken: v.token, expiration: v.opts.now })
      refusals.push(
        ['a session token on a long-term key is refused', verifySigV4(v.request, longTerm, v.opts), 'InvalidToken'],
        ['a missing session token is refused', verifySigV4(withHeader(v.request, 'x-amz-security-token', () => undefined), v.lookup, v.opts), 'InvalidToken'],
        ['an expired session token is refused', verifySigV4(v.request, expired, v.opts), 'ExpiredToken']
      )
    }
    if (v.omitSessionToken) {
      refusals.push(['an unsigned session token is refused by default', verifySigV4(v.request, v.lookup, { now: v.opts.now }), 'IncompleteSignature'])
    }

    t.plan(2 + refusals.length)
    const ok = await verifySigV4(v.request, v.lookup, v.opts)
    t.deepEqual([ok.accessKeyId, ok.region, ok.service], ['AKIDEXAMPLE', 'us-east-1', 'service'], 'the signed request is accepted')
    t.deepEqual(ok.signedHeaders, v.signedHeaders, 'the signed headers are reported')
    for (const [message, run, code] of refusals) t.equal(await refusal(run), code, message)
  })
}

test('the Authorization header itself is checked', async t => {
  const v = loadVector('get-vanilla')
  const auth = (change: (a: string) => string | undefined) => withHeader(v.request, 'authorization', change)
  t.plan(8)
  t.equal(await refusal(verifySigV4(auth(() => undefined), v.lookup, v.opts)), 'MissingAuthenticationToken', 'a request without one is refused')
  t.equal(await refusal(verifySigV4(auth(a => a.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256')), v.lookup, v.opts)), 'IncompleteSignature',
    'another algorithm is refused')
  t.equal(await refusal(verifySigV4(auth(a => a.replace(/, Signature=.*/, '')), v.lookup, v.opts)), 'IncompleteSignature',
    'a header without Signature is refused')
  t.equal(await refusal(verifySigV4(auth(a => a.replace('host;', '')), v.lookup, v.opts)), 'IncompleteSignature', 'an unsigned host is refused')
  t.equal(await refusal(verifySigV4(auth(a => a.replace('/20150830/', '/20150831/')), v.lookup, v.opts)), 'SignatureDoesNotMatch',
    'a scope date unlike X-Amz-Date is refused')
  t.equal(await refusal(verifySigV4(v.request, v.lookup, { ...v.opts, service: 'sts' })), 'SignatureDoesNotMatch', 'a scope for another service is refused')
  t.equal(await refusal(verifySigV4(v.request, v.lookup, { ...v.opts, region: 'eu-west-1' })), 'SignatureDoesNotMatch', 'a scope for another region is refused')
  const presigned = { ...v.request, query: 'X-Amz-Signature=00' }
  t.equal(await refusal(verifySigV4(presigned, v.lookup, v.opts)), 'IncompleteSignature', 'a second signature in the query is refused')
})

test('what the SDK signer signs is accepted, and refused once the body changes', async t => {
  const now = new Date('2026-11-26T12:00:00Z')
  const secretAccessKey = 'secret/+key'
  const headerName = fc.constantFrom('content-type', 'user-agent', 'x-amz-target', 'my-header', 'amz-sdk-request')
  const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '\t', '=', '&', '+', '/', '%', 'é', 'ሴ', '~', '.'), maxLength: 12 })
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST'),
    path: fc.constantFrom('/', '/a/b', '/a/./b/../c/', '//x//'),
    query: fc.dictionary(fc.string({ unit: fc.constantFrom('a', 'B', '-', '_', '.', '~', 'é', ' '), minLength: 1, maxLength: 5 }), text, { maxKeys: 4 }),
    headers: fc.dictionary(headerName, text.map(s => s.trim() || 'v'), { maxKeys: 3 }),
    body: text,
    token: fc.boolean(),
  })
  let runs = 0
  await fc.assert(
    fc.asyncProperty(request, async r => {
      const sessionToken = r.token ? 'IQoJb3JpZ2luX2VjEXAMPLE+/=' : undefined
      const lookup: SecretLookup = id => (id === 'ASIAEXAMPLE' ? { secretAccessKey, sessionToken } : undefined)
      const signer = new SignatureV4({
        service: 'sts',
        region: 'us-east-1',
        sha256: Sha256Js,
        credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey, sessionToken },
      })
      const signed = await signer.sign(
        { method: r.method, protocol: 'https:', hostname: 'sts.example.com', path: r.path, query: r.query, headers: { ...r.headers, host: 'sts.example.com' },
          body: r.body },
        { signingDate: now, signableHeaders: new Set(Object.keys(r.headers)) }
      )
      const wire: SignedRequest = {
        method: r.method,
        path: r.path,
        // On the wire the query is percent-encoded once, as the SDK's http handler writes it.
        query: Object.entries(r.query).map(([k, val]) => `${encodeURIComponent(k)}=${encodeURIComponent(val)}`).join('&'),
        headers: signed.headers,
        body: r.body,
      }
      const ok = await verifySigV4(wire, lookup, { now, service: 'sts' })
      const tampered = await refusal(verifySigV4({ ...wire, body: `${r.body}!` }, lookup, { now }))
      runs++
      return ok.accessKeyId === 'ASIAEXAMPLE' && tampered === 'SignatureDoesNotMatch'
    }),
    { numRuns: 150 }
  )
  t.equal(runs, 150, 'every generated request verifies, and none does with a changed body')
  t.end()
})
