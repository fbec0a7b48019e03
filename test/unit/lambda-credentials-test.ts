// The Lambda bundles' credential provider (esbuild aliases the SDK's default chain to it): the environment, or a clear error.
import test from 'tape'
import { defaultProvider } from '../../src/broker/lambda-credentials'

const KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'] as const

async function withEnv<T> (env: Partial<Record<typeof KEYS[number], string>>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(KEYS.map(k => [k, process.env[k]]))
  for (const k of KEYS) delete process.env[k]
  Object.assign(process.env, env)
  try { return await fn() }
  finally {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  }
}

test('lambda credentials: the Lambda role\'s, from the environment', async t => {
  const creds = await withEnv({ AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token',
    AWS_CREDENTIAL_EXPIRATION: '2026-11-26T15:00:00Z' },
  () => defaultProvider()())
  t.deepEqual(creds, { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date('2026-11-26T15:00:00Z') },
    'keys, token and expiration')
  const longTerm = await withEnv({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }, () => defaultProvider()())
  t.deepEqual(longTerm, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }, 'no token, no expiration: none invented')
})

test('lambda credentials: none in the environment is an error that says so', async t => {
  await withEnv({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }, () => defaultProvider()()).then(
    () => t.fail('resolved'),
    (err: Error) => t.match(err.message, /No AWS credentials in the environment/, 'a secret key alone is missing: refused'))
})
