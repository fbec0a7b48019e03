// Configuration hardening: the local-only overrides are refused in production, and trusted issuers cannot share scopes.
import test from 'tape'
import { loadConfig } from '../../src/broker/config'
import { candidateScopes } from '../../src/broker/policy'

const local = { BROKER_ISSUERS: 'https://gitlab.com', BROKER_AUDIENCE: 'https://sts.example.com', BROKER_TABLE_MAPPINGS: 'm', BROKER_TABLE_AUDIT: 'a' }

function errorOf (env: Record<string, string>): string {
  try { loadConfig(env); return 'ok' }
  catch (err) { return err instanceof TypeError ? err.message : `not a TypeError: ${String(err)}` }
}

test('config: BROKER_DYNAMODB_ENDPOINT points a local broker at another DynamoDB', t => {
  const c = loadConfig({ ...local, ARC_ENV: 'testing', BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9/' })
  t.equal(c.dynamoEndpoint, 'http://127.0.0.1:9', 'the override is used, without its trailing slash')
  const sandbox = loadConfig({ ...local, ARC_ENV: 'testing', ARC_SANDBOX: JSON.stringify({ ports: { tables: 5555 } }), BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' })
  t.equal(sandbox.dynamoEndpoint, 'http://127.0.0.1:9', 'it wins over the sandbox DynamoDB')
  t.end()
})

test('config: BROKER_DYNAMODB_ENDPOINT is refused in production, and must be a URL', t => {
  t.match(errorOf({ ...local, ARC_ENV: 'production', BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' }), /^BROKER_DYNAMODB_ENDPOINT is refused when ARC_ENV=production/, 'production: refused, naming it')
  t.match(errorOf({ ...local, BROKER_DYNAMODB_ENDPOINT: 'not a url' }), /^BROKER_DYNAMODB_ENDPOINT is not a URL/, 'not a URL: refused, naming it')
  t.equal(loadConfig({ ...local, ARC_ENV: 'production' }).dynamoEndpoint, undefined, 'production without it: AWS\'s own endpoint')
  t.end()
})

test('config: a trusted issuer that is a path prefix of another is refused (their scopes would overlap)', t => {
  const root = candidateScopes('https://git.example.com', 'gitlab/acme/api')
  const sub = candidateScopes('https://git.example.com/gitlab', 'acme/api')
  t.deepEqual(sub.filter(s => root.includes(s)), sub, 'why: the root issuer\'s project gitlab/acme/api has every scope of the sub-path issuer\'s acme/api')
  const overlapping = [
    'https://git.example.com, https://git.example.com/gitlab',
    'https://git.example.com/gitlab, https://git.example.com',
    'https://git.example.com, https://GIT.example.com/gitlab',
  ]
  for (const issuers of overlapping) t.match(errorOf({ ...local, BROKER_ISSUERS: issuers }), /^BROKER_ISSUERS has .* share the other's mapping scopes/, `${issuers}: refused`)
  t.equal(errorOf({ ...local, BROKER_ISSUERS: 'https://git.example.com/gitlab, https://git.example.com/gitlab2' }), 'ok', 'siblings that only share a text prefix are fine')
  t.equal(errorOf({ ...local, BROKER_ISSUERS: 'https://gitlab.com, https://gitlab.example.com/gitlab' }), 'ok', 'different hosts are fine')
  t.end()
})
