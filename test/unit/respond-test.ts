import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import test from 'tape'
import { AccessDenied, InvalidToken, UpstreamError } from '../../src/broker/errors'
import { isoSeconds, respondCredentials, respondError, shellQuote } from '../../src/broker/respond'

const runs = Number(process.env.FC_RUNS ?? 100)
const issued = {
  credentials: {
    accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+/=',
    expiration: new Date('2026-11-26T14:00:00.123Z'),
    assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/deploy/gitlab-4301877-8269345391',
  },
  roleArn: 'arn:aws:iam::111122223333:role/deploy',
  issuanceId: '7d0c3b7e-2f4f-4a43-9a39-3f0b1f1f0a11',
}

function bash (script: string, body: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', script, 'bash', body], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('respond: format=json is credential_process compatible', t => {
  const r = respondCredentials(issued, 'json', 'req-1')
  const body = JSON.parse(r.body)
  t.equal(r.statusCode, 200, '200')
  t.equal(body.Version, 1, 'Version 1, as the AWS CLI requires')
  t.deepEqual(Object.keys(body), ['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration', 'RoleArn', 'AssumedRoleArn', 'IssuanceId'], 'the contract\'s fields')
  t.equal(body.Expiration, '2026-11-26T14:00:00Z', 'expiration has no milliseconds and ends in Z')
  t.equal(r.headers['cache-control'], 'no-store', 'credentials are never cached')
  t.equal(r.headers['x-request-id'], 'req-1', 'the request id is on the answer')
  t.end()
})

test('respond: the container format uses Token and a Z expiration', t => {
  const body = JSON.parse(respondCredentials(issued, 'container', 'req-1').body)
  t.deepEqual(Object.keys(body), ['AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'RoleArn'], 'the container-credentials fields')
  t.match(body.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'YYYY-MM-DDTHH:MM:SSZ')
  t.end()
})

test('respond: format=shell exports the four variables for eval', t => {
  const r = respondCredentials(issued, 'shell', 'req-1')
  const out = bash('eval "$1"; printf "%s|%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"', r.body)
  t.equal(out.status, 0, 'the eval succeeds')
  t.equal(out.stdout, `${issued.credentials.accessKeyId}|${issued.credentials.secretAccessKey}|${issued.credentials.sessionToken}|2026-11-26T14:00:00Z`, 'the variables hold the credentials')
  t.end()
})

test('respond: an error in shell format stops the eval with the message on stderr', t => {
  const r = respondError(new AccessDenied('No mapping lets x use "deploy"; it\'s $(not) `run`.', { condition: 'mapping' }), 'shell', 'req-2')
  t.equal(r.statusCode, 403, '403')
  const out = bash('set -euo pipefail; eval "$1"; echo still-running', r.body)
  t.notEqual(out.status, 0, 'the script exits non-zero')
  t.notOk(out.stdout.includes('still-running'), 'nothing after the eval runs')
  t.ok(out.stderr.includes('tanuki-sts: access_denied: No mapping lets x use "deploy"; it\'s $(not) `run`. (request req-2)'), 'stderr has the broker\'s message, unexpanded')
  const loose = bash('eval "$1"; echo still-running', r.body)
  t.notOk(loose.stdout.includes('still-running'), 'it stops even without set -e')
  t.end()
})

test('respond: errors are the contract JSON, 401 with WWW-Authenticate', t => {
  const r = respondError(new InvalidToken('expired', { reason: 'expired' }), 'json', 'req-3')
  t.equal(r.statusCode, 401, '401')
  t.deepEqual(JSON.parse(r.body), { error: 'invalid_token', message: 'expired', requestId: 'req-3' }, 'error, message, requestId')
  t.equal(r.headers['www-authenticate'], 'Bearer realm="tanuki-sts", error="invalid_token"', 'a Bearer challenge')
  t.equal(respondError(new UpstreamError('STS refused'), 'json', 'r').statusCode, 502, 'upstream errors are 502')
  t.equal(respondError(new UpstreamError('x'), 'json', 'r').headers['www-authenticate'], undefined, 'only 401 carries a challenge')
  t.end()
})

test('respond: isoSeconds drops milliseconds', t => {
  t.equal(isoSeconds(new Date('2026-01-02T03:04:05.999Z')), '2026-01-02T03:04:05Z', 'truncated to the second')
  t.end()
})

test('shell quoting property: no value escapes its quotes (bash round trip)', t => {
  const value = fc.string({ unit: 'binary', maxLength: 40 }).filter(s => !s.includes('\0'))
  fc.assert(fc.property(value, v => {
    const out = bash('eval "$1"; printf %s "$X"', `export X=${shellQuote(v)}`)
    return out.status === 0 && out.stdout === v && out.stderr === ''
  }), { numRuns: runs })
  t.pass('every generated value came back unchanged and ran nothing')
  t.end()
})

test('shell output property: arbitrary credentials round-trip through eval', t => {
  // Any text STS could answer (quotes, $(...), backticks, newlines, non-ASCII), not only what it does answer today.
  const value = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }))
    .filter(s => !s.includes('\0'))
  fc.assert(fc.property(value, value, value, (keyId, secret, token) => {
    const body = respondCredentials({ ...issued, credentials: { ...issued.credentials, accessKeyId: keyId, secretAccessKey: secret, sessionToken: token } }, 'shell', 'r').body
    const out = bash('eval "$1"; printf "%s\\0%s\\0%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"', body)
    return out.status === 0 && out.stdout === `${keyId}\0${secret}\0${token}` && out.stderr === ''
  }), { numRuns: Math.ceil(runs / 2) })
  t.pass('key id, secret and session token came back unchanged, and nothing else ran')
  t.end()
})

test('shell output property: the secret key alone, as a job reads it (printf %s "$AWS_SECRET_ACCESS_KEY")', t => {
  const secret = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter(s => !s.includes('\0'))
  fc.assert(fc.property(secret, value => {
    const body = respondCredentials({ ...issued, credentials: { ...issued.credentials, secretAccessKey: value } }, 'shell', 'r').body
    const out = spawnSync('bash', ['-c', `eval ${shellQuote(body)}; printf %s "$AWS_SECRET_ACCESS_KEY"`], { encoding: 'utf8' })
    return out.status === 0 && out.stdout === value
  }), { numRuns: Math.ceil(runs / 2) })
  t.pass('the secret came back byte for byte')
  t.end()
})

test('shell error property: any message stops the eval and is printed verbatim on stderr', t => {
  const message = fc.string({ unit: 'binary', maxLength: 80 }).filter(s => !s.includes('\0'))
  fc.assert(fc.property(message, text => {
    const r = respondError(new AccessDenied(text, { condition: 'mapping' }), 'shell', 'req-9')
    const out = bash('eval "$1"; echo still-running', r.body)
    return out.status === 1 && out.stdout === '' && out.stderr === `tanuki-sts: access_denied: ${text} (request req-9)\n`
  }), { numRuns: Math.ceil(runs / 2) })
  t.pass('every error script exited 1 with the message, and nothing after it ran')
  t.end()
})
