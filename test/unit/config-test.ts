import test from 'tape'
import { loadConfig, loadEventsTarget } from '../../src/broker/config'

const sandbox = JSON.stringify({ ports: { tables: 5555, events: 5556 } })
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:TanukiStsProduction-CredentialsIssuedEventTopic-ABC123'
const deployed = { BROKER_ISSUERS: 'https://gitlab.com', BROKER_AUDIENCE: 'https://sts.example.com', ARC_ENV: 'production', BROKER_TABLE_MAPPINGS: 'm',
  BROKER_TABLE_AUDIT: 'a', BROKER_TABLE_ISSUER_KEYS: 'k', BROKER_EVENTS_TOPIC: TOPIC }
const good = { BROKER_ISSUERS: 'https://gitlab.com, https://gitlab.example.com/gitlab', BROKER_AUDIENCE: 'https://sts.example.com', ARC_SANDBOX: sandbox,
  ARC_ENV: 'testing' }

function errorOf (env: Record<string, string>): string {
  try { loadConfig(env); loadEventsTarget(env); return 'ok' }
  catch (err) { return err instanceof TypeError ? err.message : `not a TypeError: ${String(err)}` }
}

test('config: defaults', t => {
  const c = loadConfig(good)
  t.deepEqual(c.issuers, ['https://gitlab.com', 'https://gitlab.example.com/gitlab'], 'issuers are trimmed, kept exact')
  t.equal(c.maxDuration, 3600, 'BROKER_MAX_DURATION defaults to 3600')
  t.equal(c.auditRetentionDays, 400, 'BROKER_AUDIT_RETENTION_DAYS defaults to 400')
  t.deepEqual(c.tables, { mappings: 'tanuki-sts-staging-mappings', audit: 'tanuki-sts-staging-audit', issuerKeys: 'tanuki-sts-staging-issuer-keys' },
    'sandbox table names')
  t.deepEqual(c.tableOnlyIssuers, [], 'no issuer is table-only unless named')
  t.equal(c.dynamoEndpoint, 'http://localhost:5555', 'the sandbox DynamoDB')
  t.deepEqual(loadEventsTarget(good), { bus: 'http://localhost:5556/events' }, 'events go to the sandbox event bus')
  t.deepEqual(loadEventsTarget({ ...good, ARC_SANDBOX: JSON.stringify({ ports: { tables: 5555 } }) }), { bus: undefined },
    'a sandbox that names no events port: no bus (each publish then fails, saying why)')
  t.end()
})

test('config: a bad variable is a TypeError naming it', t => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no issuers', { ...good, BROKER_ISSUERS: '' }, 'BROKER_ISSUERS'],
    ['an issuer that is not a URL', { ...good, BROKER_ISSUERS: 'gitlab.com' }, 'BROKER_ISSUERS'],
    ['an issuer with a trailing slash', { ...good, BROKER_ISSUERS: 'https://gitlab.com/' }, 'BROKER_ISSUERS'],
    ['an http issuer without the opt-in', { ...good, BROKER_ISSUERS: 'http://127.0.0.1:4100' }, 'BROKER_ISSUERS'],
    ['http issuers in production', { ...good, BROKER_ALLOW_HTTP_ISSUERS: 'true', ARC_ENV: 'production' }, 'BROKER_ALLOW_HTTP_ISSUERS'],
    ['http issuers in a deployed staging stack', { ...good, BROKER_ALLOW_HTTP_ISSUERS: 'true', ARC_ENV: 'staging' }, 'BROKER_ALLOW_HTTP_ISSUERS'],
    ['a non-boolean flag', { ...good, BROKER_ALLOW_HTTP_ISSUERS: 'maybe' }, 'BROKER_ALLOW_HTTP_ISSUERS'],
    ['no audience', { ...good, BROKER_AUDIENCE: '' }, 'BROKER_AUDIENCE'],
    ['a duration over the role-chaining cap', { ...good, BROKER_MAX_DURATION: '7200' }, 'BROKER_MAX_DURATION'],
    ['a duration that is not a number', { ...good, BROKER_MAX_DURATION: '1h' }, 'BROKER_MAX_DURATION'],
    ['a retention of zero days', { ...good, BROKER_AUDIT_RETENTION_DAYS: '0' }, 'BROKER_AUDIT_RETENTION_DAYS'],
    ['a bad STS endpoint', { ...good, BROKER_STS_ENDPOINT: 'not a url' }, 'BROKER_STS_ENDPOINT'],
    ['no table names outside sandbox', { ...good, ARC_SANDBOX: '' }, 'BROKER_TABLE_MAPPINGS'],
    ['no issuer-keys table outside sandbox', { ...deployed, BROKER_TABLE_ISSUER_KEYS: '' }, 'BROKER_TABLE_ISSUER_KEYS'],
    ['a table-only issuer not in BROKER_ISSUERS', { ...good, BROKER_TABLE_ONLY_ISSUERS: 'https://gitlab.internal.example' }, 'BROKER_TABLE_ONLY_ISSUERS'],
    ['a table-only issuer spelt unlike its tokens\' iss', { ...good, BROKER_TABLE_ONLY_ISSUERS: 'https://gitlab.com/' }, 'BROKER_TABLE_ONLY_ISSUERS'],
    ['a table-only issuer that is not a URL', { ...good, BROKER_TABLE_ONLY_ISSUERS: 'gitlab internal' }, 'BROKER_TABLE_ONLY_ISSUERS'],
    ['no events topic outside sandbox', { ...deployed, BROKER_EVENTS_TOPIC: '' }, 'BROKER_EVENTS_TOPIC'],
    ['an events topic that is not an SNS ARN', { ...deployed, BROKER_EVENTS_TOPIC: 'arn:aws:sqs:eu-west-1:111122223333:q' }, 'BROKER_EVENTS_TOPIC'],
    ['an events topic in a partition without a known endpoint', { ...deployed, BROKER_EVENTS_TOPIC: TOPIC.replace('arn:aws:', 'arn:aws-iso:') },
      'BROKER_EVENTS_TOPIC'],
    ['a bad SNS endpoint override', { ...deployed, AWS_ENDPOINT_URL_SNS: 'not a url' }, 'AWS_ENDPOINT_URL_SNS'],
  ]
  for (const [name, env, variable] of cases) t.ok(errorOf(env).startsWith(variable), `${name}: names ${variable}`)
  t.end()
})

test('config: BROKER_TABLE_ONLY_ISSUERS marks trusted issuers whose keys come from the table alone', t => {
  const c = loadConfig({ ...good, BROKER_TABLE_ONLY_ISSUERS: ' https://gitlab.example.com/gitlab ' })
  t.deepEqual(c.tableOnlyIssuers, ['https://gitlab.example.com/gitlab'], 'trimmed, kept exact')
  t.deepEqual(c.issuers, ['https://gitlab.com', 'https://gitlab.example.com/gitlab'], 'and still trusted as BROKER_ISSUERS says')
  t.equal(errorOf({ ...good, BROKER_TABLE_ONLY_ISSUERS: 'https://gitlab.internal.example' }),
    'BROKER_TABLE_ONLY_ISSUERS has "https://gitlab.internal.example", which is not in BROKER_ISSUERS: list it there too ' +
    '(BROKER_ISSUERS says which issuers are trusted; this says their keys come from the table alone)',
    'an issuer it does not trust: says to list it in BROKER_ISSUERS')
  t.end()
})

test('config: http issuers are accepted for local runs when allowed', t => {
  const c = loadConfig({ ...good, BROKER_ISSUERS: 'http://127.0.0.1:4100', BROKER_ALLOW_HTTP_ISSUERS: 'true' })
  t.deepEqual(c.issuers, ['http://127.0.0.1:4100'], 'accepted')
  t.end()
})

test('config: the sandbox DynamoDB is never used in production', t => {
  const c = loadConfig({ ...good, ...deployed })
  t.equal(c.dynamoEndpoint, undefined, 'ARC_SANDBOX is ignored in production')
  t.deepEqual(loadEventsTarget({ ...good, ...deployed }), { topicArn: TOPIC, region: 'eu-west-1', endpoint: 'https://sns.eu-west-1.amazonaws.com/' },
    'and events go to SNS')
  t.end()
})

test('config: the SNS endpoint follows the topic\'s region and partition, or the SDKs\' override variables', t => {
  const endpoint = (env: Record<string, string>) => {
    const events = loadEventsTarget({ ...deployed, ...env })
    return 'endpoint' in events ? events.endpoint : undefined
  }
  t.equal(endpoint({ BROKER_EVENTS_TOPIC: 'arn:aws-cn:sns:cn-north-1:111122223333:t' }), 'https://sns.cn-north-1.amazonaws.com.cn/', 'aws-cn')
  t.equal(endpoint({ BROKER_EVENTS_TOPIC: 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:t' }), 'https://sns.us-gov-west-1.amazonaws.com/', 'aws-us-gov')
  t.equal(endpoint({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }), 'http://127.0.0.1:4566/', 'AWS_ENDPOINT_URL')
  t.equal(endpoint({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_SNS: 'https://sns.example.com' }), 'https://sns.example.com/',
    'AWS_ENDPOINT_URL_SNS first')
  t.end()
})
