import test from 'tape'
import { loadConfig } from '../../src/broker/config'

const sandbox = JSON.stringify({ ports: { tables: 5555 } })
const good = { BROKER_ISSUERS: 'https://gitlab.com, https://gitlab.example.com/gitlab', BROKER_AUDIENCE: 'https://sts.example.com', ARC_SANDBOX: sandbox, ARC_ENV: 'testing' }

function errorOf (env: Record<string, string>): string {
  try { loadConfig(env); return 'ok' }
  catch (err) { return err instanceof TypeError ? err.message : `not a TypeError: ${String(err)}` }
}

test('config: defaults', t => {
  const c = loadConfig(good)
  t.deepEqual(c.issuers, ['https://gitlab.com', 'https://gitlab.example.com/gitlab'], 'issuers are trimmed, kept exact')
  t.equal(c.maxDuration, 3600, 'BROKER_MAX_DURATION defaults to 3600')
  t.equal(c.auditRetentionDays, 400, 'BROKER_AUDIT_RETENTION_DAYS defaults to 400')
  t.deepEqual(c.tables, { mappings: 'tanuki-sts-staging-mappings', audit: 'tanuki-sts-staging-audit' }, 'sandbox table names')
  t.equal(c.dynamoEndpoint, 'http://localhost:5555', 'the sandbox DynamoDB')
  t.end()
})

test('config: a bad variable is a TypeError naming it', t => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no issuers', { ...good, BROKER_ISSUERS: '' }, 'BROKER_ISSUERS'],
    ['an issuer that is not a URL', { ...good, BROKER_ISSUERS: 'gitlab.com' }, 'BROKER_ISSUERS'],
    ['an issuer with a trailing slash', { ...good, BROKER_ISSUERS: 'https://gitlab.com/' }, 'BROKER_ISSUERS'],
    ['an http issuer without the opt-in', { ...good, BROKER_ISSUERS: 'http://127.0.0.1:4100' }, 'BROKER_ISSUERS'],
    ['http issuers in production', { ...good, BROKER_ALLOW_HTTP_ISSUERS: 'true', ARC_ENV: 'production' }, 'BROKER_ALLOW_HTTP_ISSUERS'],
    ['a non-boolean flag', { ...good, BROKER_ALLOW_HTTP_ISSUERS: 'maybe' }, 'BROKER_ALLOW_HTTP_ISSUERS'],
    ['no audience', { ...good, BROKER_AUDIENCE: '' }, 'BROKER_AUDIENCE'],
    ['a duration over the role-chaining cap', { ...good, BROKER_MAX_DURATION: '7200' }, 'BROKER_MAX_DURATION'],
    ['a duration that is not a number', { ...good, BROKER_MAX_DURATION: '1h' }, 'BROKER_MAX_DURATION'],
    ['a retention of zero days', { ...good, BROKER_AUDIT_RETENTION_DAYS: '0' }, 'BROKER_AUDIT_RETENTION_DAYS'],
    ['a bad STS endpoint', { ...good, BROKER_STS_ENDPOINT: 'not a url' }, 'BROKER_STS_ENDPOINT'],
    ['no table names outside sandbox', { ...good, ARC_SANDBOX: '' }, 'BROKER_TABLE_MAPPINGS'],
  ]
  for (const [name, env, variable] of cases) t.ok(errorOf(env).startsWith(variable), `${name}: names ${variable}`)
  t.end()
})

test('config: http issuers are accepted for local runs when allowed', t => {
  const c = loadConfig({ ...good, BROKER_ISSUERS: 'http://127.0.0.1:4100', BROKER_ALLOW_HTTP_ISSUERS: 'true' })
  t.deepEqual(c.issuers, ['http://127.0.0.1:4100'], 'accepted')
  t.end()
})

test('config: the sandbox DynamoDB is never used in production', t => {
  const c = loadConfig({ ...good, ARC_ENV: 'production', BROKER_TABLE_MAPPINGS: 'm', BROKER_TABLE_AUDIT: 'a' })
  t.equal(c.dynamoEndpoint, undefined, 'ARC_SANDBOX is ignored in production')
  t.end()
})
