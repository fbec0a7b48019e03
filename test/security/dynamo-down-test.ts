// DynamoDB unreachable for the whole broker: the sandbox Lambdas run with BROKER_DYNAMODB_ENDPOINT on a closed port.
// Every request that gets past the token answers 503 in its own format; nothing is issued, nothing reaches STS.
import { spawnSync } from 'node:child_process'
import test from 'tape'
import { ROLE_ARN, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { call, closedPort } from './helpers/harness'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()

test('Set up env', async t => {
  env = await startBrokerEnv({ env: { BROKER_DYNAMODB_ENDPOINT: `http://127.0.0.1:${await closedPort()}` } })
  // Seeded through the test's own client, on the sandbox's real DynamoDB: the broker cannot reach it.
  await env.putMapping({ scope: `${env.issuer.url}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' } })
  t.ok(env.url, `broker running at ${env.url}, its DynamoDB endpoint refusing connections`)
})

test('a valid token: 503 unavailable in every format, nothing issued', async t => {
  const started = Date.now()
  const json = await call(env, witness, { token: await env.mint() })
  t.equal(json.status, 503, `json: 503 in ${Date.now() - started} ms`)
  t.equal(json.body.error, 'unavailable', 'json: unavailable')
  t.match(String(json.body.message), /mappings and issuer-keys tables could not be reached; no credentials were issued/, 'json: says which store and that nothing was issued')

  const shell = await call(env, witness, { token: await env.mint(), query: 'role=deploy&format=shell' })
  t.equal(shell.status, 503, 'shell: 503')
  const run = spawnSync('bash', ['-c', 'eval "$1"; echo ran-on', 'bash', shell.text], { encoding: 'utf8' })
  t.ok(run.status !== 0 && !run.stdout.includes('ran-on') && run.stderr.startsWith('tanuki-sts: unavailable: '), 'shell: eval stops, saying unavailable')

  const container = await call(env, witness, { method: 'GET', authorization: await env.mint() })
  t.equal(container.status, 503, 'container (GET): 503')
  t.equal(container.body.error, 'unavailable', 'container (GET): unavailable')

  t.equal(env.sts.calls.AssumeRole, 0, 'STS was never called')
  t.deepEqual(await env.auditRecords(), [], 'nothing was written anywhere')
})

test('tokens refused before any I/O are still 401 and 413; others need the issuer\'s keys from DynamoDB: 503; healthz stays up', async t => {
  const untrusted = await call(env, witness, { token: await env.mint({ iss: 'https://gitlab.evil.example' }) })
  t.equal(untrusted.status, 401, 'an untrusted issuer: 401, not 503')
  t.match(String(untrusted.body.message), /is not trusted by this broker \(BROKER_ISSUERS\)\.$/, 'refused by the issuer allowlist')
  t.equal((await call(env, witness, { token: 'not.a.jwt!' })).status, 401, 'not a JWT: 401')
  t.equal((await call(env, witness, { token: 'a'.repeat(9000) })).status, 413, 'too large: 413')
  // A cold container reads its issuer's keys with the mappings: with neither readable, it cannot tell a bad signature
  // or audience from a good one, and answers what it can say truthfully.
  const r = await call(env, witness, { token: await env.mint({}, { audience: 'https://sts.evil.example' }) })
  t.equal(r.status, 503, 'a wrong audience, keys unreadable: 503 unavailable')
  t.match(String(r.body.message), /^The broker's mappings and issuer-keys tables could not be reached; /, 'refused because the keys and mappings could not be read, not by the audience rule')
  const health = await fetch(`${env.url}/healthz`)
  t.equal(health.status, 200, 'healthz: 200 (the configuration is valid)')
})

test('no secret appears in any log line or error body', async t => {
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('sandbox, issuer and STS stopped')
})
