// Spec for src/cli/audit.ts's inputs (`--since`: a duration back from now, or an ISO date/time; `--project`) and its table's times.
import test from 'tape'
import { CliError } from '../../src/broker/errors'
import { parseSince, projectKey } from '../../src/cli/audit'
import { readableTime } from '../../src/cli/output'

let now: Date

test('Set up env', t => {
  now = new Date('2026-11-26T12:00:00.000Z')
  t.plan(1)
  t.equal(now.toISOString(), '2026-11-26T12:00:00.000Z', 'the clock is fixed')
})

test('--since takes durations back from now', t => {
  t.plan(5)
  t.equal(parseSince('24h', now), '2026-11-25T12:00:00.000Z', '24h is a day ago')
  t.equal(parseSince('7d', now), '2026-11-19T12:00:00.000Z', '7d is a week ago')
  t.equal(parseSince('30m', now), '2026-11-26T11:30:00.000Z', '30m is half an hour ago')
  t.equal(parseSince('90s', now), '2026-11-26T11:58:30.000Z', '90s is a minute and a half ago')
  t.equal(parseSince('2w', now), '2026-11-12T12:00:00.000Z', '2w is two weeks ago')
})

test('--since takes ISO dates and times, as the records store them', t => {
  t.plan(3)
  t.equal(parseSince('2026-11-01', now), '2026-11-01T00:00:00.000Z', 'a date is its midnight UTC')
  t.equal(parseSince('2026-11-01T12:30:00Z', now), '2026-11-01T12:30:00.000Z', 'a UTC time')
  t.equal(parseSince('2026-11-01T12:30:00+02:00', now), '2026-11-01T10:30:00.000Z', 'an offset is turned into UTC')
})

test('anything else is refused with what to write', t => {
  t.plan(4)
  for (const bad of ['yesterday', '24', '3y', '2026-13-45']) {
    t.throws(() => parseSince(bad, now), (e: unknown) => e instanceof CliError && /give a duration/.test(e.message), `"${bad}" is refused`)
  }
})

test('--project is a URL, or a path joined to the issuer', t => {
  t.plan(4)
  t.equal(projectKey('https://gitlab.com/acme/api/', undefined), 'https://gitlab.com/acme/api', 'a URL is used as it is')
  t.equal(projectKey('acme/api', 'https://gitlab.com'), 'https://gitlab.com/acme/api', 'a path gets the issuer in front')
  t.throws(() => projectKey('acme/api', undefined), /is a path, and the issuer it belongs to is not known/, 'a path without an issuer is refused')
  t.throws(() => projectKey('acme/../x y', 'https://gitlab.com'), /neither a project URL nor a GitLab project path/, 'a non-path is refused')
})

test('tables show times in one form: UTC, a space for the T, to the second (audit) or the minute (mappings)', t => {
  t.equal(readableTime('2026-11-26T18:52:05.123Z'), '2026-11-26 18:52:05Z', 'audit list: to the second')
  t.equal(readableTime('2026-11-26T18:52:05Z'), '2026-11-26 18:52:05Z', 'without milliseconds')
  t.equal(readableTime('2026-11-26T18:52:05.123Z', 'minute'), '2026-11-26 18:52Z', 'mappings list: to the minute')
  t.equal(readableTime('not a time'), 'not a time', 'anything else is shown as stored')
  t.end()
})

test('Teardown', t => {
  t.plan(1)
  t.pass('nothing to tear down')
})
