// Spec for src/broker/sts.ts's pure parts: what the broker sends STS is always something STS accepts, whatever the
// claims hold (session name, SourceIdentity, session tags), or the request would fail after a use was reserved.
import fc from 'fast-check'
import test from 'tape'
import { sanitizeTagValue, sessionName, sessionTags, sourceIdentity } from '../../src/broker/sts'

const runs = Number(process.env.FC_RUNS ?? 300)
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u
/** No lone surrogate: what the SDK's query encoder (encodeURIComponent) can send. */
function wellFormed (text: string): boolean {
  try { encodeURIComponent(text); return true }
  catch { return false }
}
/** Any text, including characters outside the BMP and lone surrogates. */
const anyText = fc.string({ unit: 'binary', maxLength: 400 })

test('sts: a session tag value is always one STS accepts', t => {
  fc.assert(fc.property(anyText, raw => {
    const value = sanitizeTagValue(raw)
    return TAG_VALUE.test(value) && value.length <= 256 && wellFormed(value)
  }), { numRuns: runs })
  t.pass(`${runs} random values: only allowed characters, at most 256, well-formed`)
  t.end()
})

test('sts: cutting at 256 never splits a character outside the BMP', t => {
  const long = `${'a'.repeat(255)}\u{20000}tail`
  const value = sanitizeTagValue(long)
  t.equal(value, 'a'.repeat(255), 'the whole character is dropped, not half of it')
  t.ok(wellFormed(value), 'so the SDK can encode it')
  t.equal(sanitizeTagValue(`${'a'.repeat(254)}\u{20000}`), `${'a'.repeat(254)}\u{20000}`, 'one that fits is kept whole')
  t.equal(sanitizeTagValue('feature/x;rm -rf'), 'feature/x_rm -rf', 'characters STS refuses become _ (a space is allowed)')
  t.end()
})

test('sts: session name and SourceIdentity fit AWS\'s patterns whatever the claims hold', t => {
  fc.assert(fc.property(anyText, anyText, anyText, (projectId, jobId, login) => {
    const name = sessionName({ project_id: projectId, job_id: jobId })
    const source = sourceIdentity({ user_login: login })
    return /^[\w+=,.@-]{2,64}$/.test(name) && (source === undefined || (/^[\w+=,.@-]{2,64}$/.test(source) && !source.startsWith('aws:')))
  }), { numRuns: runs })
  t.equal(sessionName({ project_id: '4301877', job_id: '8269345391' }), 'gitlab-4301877-8269345391', 'a GitLab job names its session')
  t.equal(sourceIdentity({ user_login: 'x' }), undefined, 'a one-character login is left out (SourceIdentity needs 2)')
  t.end()
})

test('sts: session tags name only the claims the token has, as gitlab:<claim>', t => {
  const tags = sessionTags({ project_path: 'acme/payments/api', ref: 'main', groups: ['a', 'b'] }, ['project_path', 'ref', 'environment', 'groups'])
  t.deepEqual(tags, [
    { Key: 'gitlab:project_path', Value: 'acme/payments/api' },
    { Key: 'gitlab:ref', Value: 'main' },
    { Key: 'gitlab:groups', Value: 'a_b' },
  ], 'a missing claim is left out; a list is joined (its commas, which STS refuses, as _)')
  t.end()
})
