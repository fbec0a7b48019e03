// Spec for src/broker/scope.ts: the scopes that may hold a mapping for a project, and what a scope that does not parse must change.
import test from 'tape'
import { candidateScopes, parseScope, scopeCovers, scopeProblem } from '../../src/broker/scope'

test('candidateScopes: most specific first, up to the instance root', t => {
  t.deepEqual(candidateScopes('https://gitlab.com', 'acme/payments/api'), [
    'https://gitlab.com/acme/payments/api',
    'https://gitlab.com/acme/payments/*',
    'https://gitlab.com/acme/payments/**',
    'https://gitlab.com/acme/**',
    'https://gitlab.com/**',
  ], 'project, its group /*, then /** upwards')
  t.ok(scopeCovers('https://gitlab.com/acme/**', 'https://gitlab.com', 'acme/payments/api'), 'a /** covers its descendants')
  t.notOk(scopeCovers('https://gitlab.com/acme/**', 'https://gitlab.com', 'acmecorp/api'), 'a /** does not cover a sibling sharing a prefix')
  t.end()
})

test('scope: a scope that does not parse says what to change', t => {
  const cases: Array<[string, RegExp]> = [
    ['https://gitlab.com/acme/api/', /^ends with "\/": write it without/],
    ['https://GitLab.com/acme/api', /^is spelled differently .*: write https:\/\/gitlab\.com\/acme\/api \(lower-case host, no default port\)/],
    ['https://gitlab.com:443/acme/api', /write https:\/\/gitlab\.com\/acme\/api/],
    ['https://gitlab.com/acme/api?ref=main', /^has a query or fragment/],
    ['https://gitlab.com//acme/api', /^has an empty path segment/],
    [' https://gitlab.com/acme/api', /^has spaces around it/],
    ['https://gitlab.com/acme/a pi', /^has a path GitLab would not have/],
    ['acme/api', /^must be a GitLab project URL/],
  ]
  for (const [scope, message] of cases) {
    t.equal(parseScope(scope), undefined, `${JSON.stringify(scope)} does not parse`)
    t.match(scopeProblem(scope) ?? 'parses', message, `and says ${message.source.slice(1, 40)}…`)
  }
  t.end()
})
