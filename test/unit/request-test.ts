import fc from 'fast-check'
import test from 'tape'
import { BrokerError, InvalidRequest, InvalidToken, PayloadTooLarge } from '../../src/broker/errors'
import { parseCredentialsRequest, responseFormat } from '../../src/broker/request'
import type { HttpEvent } from '../../src/broker/request'

const runs = Number(process.env.FC_RUNS ?? 300)
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'
const event = (e: Partial<HttpEvent> & { query?: string }): HttpEvent => ({
  rawQueryString: e.query ?? '', headers: { authorization: `Bearer ${jwt}`, ...e.headers }, body: e.body, isBase64Encoded: e.isBase64Encoded,
})

function codeOf (fn: () => unknown): string {
  try { fn(); return 'ok' }
  catch (err) { return err instanceof BrokerError ? err.code : 'threw:' + String(err) }
}

test('request: role and duration from the query string', t => {
  const r = parseCredentialsRequest(event({ query: 'role=deploy&duration=900' }), 'POST')
  t.deepEqual(r, { token: jwt, role: 'deploy', duration: 900, format: 'json' }, 'parsed')
  t.end()
})

test('request: POST takes a JSON or form body', t => {
  const json = parseCredentialsRequest(event({ body: '{"role":"deploy","format":"shell","duration":1200}', headers: { 'content-type': 'application/json' } }), 'POST')
  t.deepEqual([json.role, json.format, json.duration], ['deploy', 'shell', 1200], 'JSON body')
  const form = parseCredentialsRequest(event({ body: Buffer.from('role=read-only').toString('base64'), isBase64Encoded: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'POST')
  t.equal(form.role, 'read-only', 'base64 form body')
  t.end()
})

test('request: GET takes the raw token as SDKs send it, and answers the container format', t => {
  const r = parseCredentialsRequest(event({ query: 'role=deploy', headers: { authorization: jwt } }), 'GET')
  t.deepEqual([r.token, r.format], [jwt, 'container'], 'raw token accepted on GET')
  t.equal(codeOf(() => parseCredentialsRequest(event({ query: 'role=deploy', headers: { authorization: jwt } }), 'POST')), 'invalid_token', 'POST requires the Bearer scheme')
  t.end()
})

test('request: every ill-formed request is refused with the contract code, by the rule its message names', t => {
  const json = { 'content-type': 'application/json' }
  const role = /^The "role" parameter must be 1 to 64 letters, digits or _\.@\+=- starting with a letter or digit\.$/
  const roleRequired = /^The "role" parameter is required: /
  const duration = /^The "duration" parameter must be a whole number of seconds from 900 to 3600\.$/
  const scheme = /^The Authorization header must be "Bearer <GitLab ID token>" \(one token, no other scheme\)\.$/
  const cases: Array<[string, HttpEvent, 'GET' | 'POST', string, RegExp]> = [
    ['role missing', event({}), 'POST', 'invalid_request', roleRequired],
    ['role empty', event({ query: 'role=' }), 'POST', 'invalid_request', roleRequired],
    ['role too long', event({ query: `role=${'a'.repeat(65)}` }), 'POST', 'invalid_request', role],
    ['role with injection characters', event({ query: 'role=deploy%27%3B--' }), 'POST', 'invalid_request', role],
    ['duration negative', event({ query: 'role=deploy&duration=-900' }), 'POST', 'invalid_request', duration],
    ['duration huge', event({ query: 'role=deploy&duration=99999999999' }), 'POST', 'invalid_request', duration],
    ['duration not a number', event({ query: 'role=deploy&duration=1h' }), 'POST', 'invalid_request', duration],
    ['duration under 900', event({ query: 'role=deploy&duration=899' }), 'POST', 'invalid_request', duration],
    ['unknown format', event({ query: 'role=deploy&format=xml' }), 'POST', 'invalid_request', /^The "format" parameter must be "json" or "shell"\.$/],
    ['format on GET', event({ query: 'role=deploy&format=json' }), 'GET', 'invalid_request', /^Unknown parameter "format"; GET \/credentials takes role, duration\. /],
    ['unknown parameter', event({ query: 'role=deploy&debug=1' }), 'POST', 'invalid_request', /^Unknown parameter "debug"; POST \/credentials takes role, duration, format\.$/],
    ['repeated parameter', event({ query: 'role=deploy&role=admin' }), 'POST', 'invalid_request', /^The parameter "role" is given more than once\.$/],
    ['parameter in query and body', event({ query: 'role=deploy', body: '{"role":"admin"}', headers: json }), 'POST', 'invalid_request',
      /^The parameter "role" is given both in the query string and in the body\.$/],
    ['body not JSON', event({ body: '{role', headers: json }), 'POST', 'invalid_request', /^The request body is not valid JSON\.$/],
    ['body a JSON array', event({ body: '["deploy"]', headers: json }), 'POST', 'invalid_request', /^The JSON body must be an object, e\.g\. \{"role":"deploy"\}\.$/],
    ['body of another type', event({ body: 'role=deploy', headers: { 'content-type': 'text/plain' } }), 'POST', 'invalid_request',
      /^Send parameters in the query string, or as a JSON or form-encoded body /],
    ['body too large', event({ query: 'role=deploy', body: 'x'.repeat(17 * 1024), headers: { 'content-type': 'text/plain' } }), 'POST', 'payload_too_large',
      /^The request body is larger than 16384 bytes\.$/],
    ['token too large', event({ query: 'role=deploy', headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }), 'POST', 'payload_too_large',
      /^The ID token is larger than 8192 bytes\.$/],
    ['no Authorization', { rawQueryString: 'role=deploy', headers: {} }, 'POST', 'invalid_token', /^Send the GitLab ID token in the Authorization header: /],
    ['Basic scheme', event({ query: 'role=deploy', headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 'POST', 'invalid_token', scheme],
    ['two tokens (a repeated header, joined)', event({ query: 'role=deploy', headers: { authorization: `Bearer ${jwt}, Bearer ${jwt}` } }), 'POST', 'invalid_token', scheme],
    ['Bearer with nothing', event({ query: 'role=deploy', headers: { authorization: 'Bearer ' } }), 'GET', 'invalid_token', /^The Authorization header says "Bearer" but carries no token/],
    ['HEAD routed to the GET handler', { ...event({ query: 'role=deploy' }), requestContext: { http: { method: 'HEAD' } } }, 'GET', 'method_not_allowed',
      /^\/credentials does not take HEAD; use GET or POST\.$/],
    ['GET routed to the POST handler', { ...event({ query: 'role=deploy' }), requestContext: { http: { method: 'GET' } } }, 'POST', 'method_not_allowed',
      /^\/credentials does not take GET; use GET or POST\.$/],
  ]
  for (const [name, e, method, code, rule] of cases) {
    let refused: unknown
    try { parseCredentialsRequest(e, method) }
    catch (err) { refused = err }
    t.equal(refused instanceof BrokerError ? refused.code : String(refused), code, `${name}: ${code}`)
    t.match(refused instanceof Error ? refused.message : '', rule, `${name}: refused by its rule`)
  }
  t.end()
})

test('request: "Bearer" with no token (an empty variable in the job) says where the token comes from', t => {
  const messageOf = (authorization: string) => {
    try { parseCredentialsRequest(event({ query: 'role=deploy', headers: { authorization } }), 'POST'); return 'no error' }
    catch (e) { return (e as Error).message }
  }
  const want = 'The Authorization header says "Bearer" but carries no token: is the job\'s ID token variable set (id_tokens: in .gitlab-ci.yml)?'
  t.equal(messageOf('Bearer '), want, 'curl -H "Authorization: Bearer $UNSET"')
  t.equal(messageOf('bearer'), want, 'in any case')
  t.equal(codeOf(() => parseCredentialsRequest(event({ query: 'role=deploy', headers: { authorization: 'Bearer ' } }), 'POST')), 'invalid_token', 'still 401 invalid_token')
  t.end()
})

test('request: errors to a shell caller are answered in shell', t => {
  t.equal(responseFormat(event({ query: 'role=&format=shell' }), 'POST'), 'shell', 'format=shell is honoured even when role is bad')
  t.equal(responseFormat(event({ query: 'format=shell' }), 'GET'), 'container', 'GET never answers shell')
  t.equal(responseFormat(event({ query: 'role=a&role=b&format=shell' }), 'POST'), 'shell', 'and when another parameter is repeated (the request is refused, as a script)')
  t.equal(responseFormat(event({ query: 'format=shell&format=shell' }), 'POST'), 'shell', 'and when format itself is repeated')
  t.equal(responseFormat(event({ query: 'role=a&role=b' }), 'POST'), 'json', 'a malformed request that did not ask for shell gets json')
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  t.equal(responseFormat(event({ body: 'role=a&role=b&format=shell', headers: form }), 'POST'), 'shell', 'shell asked in a form body that does not parse')
  t.equal(responseFormat(event({ body: '{"role":"deploy","format":"shell",}', headers: { 'content-type': 'application/json' } }), 'POST'), 'shell', 'and in broken JSON')
  t.equal(responseFormat(event({ body: '{"role":"deploy"}', headers: { 'content-type': 'application/json' } }), 'POST'), 'json', 'a body that does not ask: json')
  t.end()
})

test('request property: the parser never throws anything but a BrokerError', t => {
  const headerValue = fc.oneof(fc.string(), fc.constant(undefined))
  fc.assert(fc.property(fc.string(), fc.option(fc.string()), headerValue, headerValue, fc.boolean(), fc.constantFrom<'GET' | 'POST'>('GET', 'POST'),
    (query, body, authorization, contentType, b64, method) => {
      try {
        parseCredentialsRequest({ rawQueryString: query, body: body ?? undefined, isBase64Encoded: b64, headers: { authorization, 'content-type': contentType } }, method)
        return true
      }
      catch (err) {
        return err instanceof InvalidRequest || err instanceof InvalidToken || err instanceof PayloadTooLarge
      }
    }), { numRuns: runs })
  t.pass('only contract errors were thrown')
  t.end()
})

test('request: a JSON body that gives a key twice is refused, as a repeated form field is', t => {
  const json = (body: string) => event({ body, headers: { 'content-type': 'application/json' } })
  const messageOf = (body: string) => {
    try { parseCredentialsRequest(json(body), 'POST'); return 'no error' }
    catch (e) { return (e as Error).message }
  }
  t.equal(messageOf('{"role":"deploy","role":"admin"}'), 'The parameter "role" is given more than once.', 'JSON.parse alone would keep "admin"')
  t.equal(messageOf('{"role":"deploy","duration":900,"\\u0072ole":"admin"}'), 'The parameter "role" is given more than once.', 'the same key spelt with an escape')
  t.equal(messageOf(' { "duration" : 1e3 , "role" : "x\\"y" , "duration" : -0.5E+2 } '), 'The parameter "duration" is given more than once.', 'after escaped quotes, spaces and exponents')
  t.equal(codeOf(() => parseCredentialsRequest(json('{"role":"deploy","role":"deploy"}'), 'POST')), 'invalid_request', 'even with the same value')
  // JSON.parse keeps the last value, so only the last is type-checked: an earlier one may be of any type.
  for (const earlier of ['null', 'true', 'false', '{"a":"b"}', '["x"]', '{}', '[]']) {
    t.equal(codeOf(() => parseCredentialsRequest(json(`{"role":${earlier},"role":"deploy"}`), 'POST')), 'invalid_request', `an earlier ${earlier} under the same key`)
  }
  t.equal(codeOf(() => parseCredentialsRequest(json('{"format":false,"format":"shell","role":"deploy"}'), 'POST')), 'invalid_request', 'an earlier false, then shell')
  t.equal(parseCredentialsRequest(json('{"role":"deploy","format":"shell"}'), 'POST').role, 'deploy', 'distinct keys still parse')
  t.end()
})

test('request property: a JSON body with a repeated key is always refused, and one without is never refused as repeated', t => {
  const escaped = (key: string) => `"${[...key].map(c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
  const keyText = fc.tuple(fc.constantFrom('role', 'format', 'duration', 'a', 'é', 'x"y', 'back\\slash', ''), fc.boolean())
    .map(([key, escape]) => ({ key, text: escape ? escaped(key) : JSON.stringify(key) }))
  const value = fc.oneof(fc.string().map(v => JSON.stringify(v)), fc.double({ noNaN: true, noDefaultInfinity: true }).map(n => JSON.stringify(n)),
    fc.constantFrom('null', 'true', 'false', '{}', '[1]', '{"a":"b"}'))
  const space = fc.constantFrom('', ' ', '\n', '\t ')
  fc.assert(fc.property(fc.array(fc.tuple(keyText, value, space), { maxLength: 6 }), space, (members, outer) => {
    const body = `${outer}{${members.map(([k, v, s]) => `${s}${k.text}${s}:${s}${v}${s}`).join(',')}}${outer}`
    const keys = members.map(([k]) => k.key)
    let message = ''
    try { parseCredentialsRequest(event({ body, headers: { 'content-type': 'application/json' } }), 'POST') }
    catch (e) { message = (e as Error).message }
    // Refused as repeated, or (when the value JSON.parse kept is not a string or number) as of the wrong type: never accepted.
    const repeated = new Set(keys).size < keys.length
    return repeated ? /given more than once|must be a string or a number|must be one object/.test(message) : !/given more than once/.test(message)
  }), { numRuns: runs })
  t.pass('every repeated key found, no distinct keys refused as repeated')
  t.end()
})
