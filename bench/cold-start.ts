// Figure 2, cold start: each Lambda's production bundle (size), and the median over fresh processes of the time to
// load it and build its clients and config, next to the credentials Lambda's unavoidable SDK imports bundled the same
// way. Then, in fresh processes against the local world, the first and second request (lazy loads, JWKS, publish).
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LAMBDAS, bundle, bundleLambda } from './_bundle'
import type { Bundle } from './_bundle'
import { emit, median, ms, quantile } from './_figures'
import { LOCAL_BROKER_PRINCIPAL } from '../src/local/stack'
import { startFakeAws } from '../test/helpers/fake-aws'
import { PORTS, TABLES, postEvent, projectMapping, startEventSink, startWorld } from './_local'

const run = promisify(execFile)
const SAMPLES = Number(process.env.BENCH_COLD_SAMPLES || 41)
const CHILD = join(__dirname, '_cold-child.js')

/** An issuance's event, as the exchange publishes it (no secrets). */
const SAMPLE_EVENT = {
  pk: 'token#0f3c', sk: 'issue#2026-11-26T12:00:00.000Z#bench', at: '2026-11-26T12:00:00.000Z', requestId: 'bench', outcome: 'issued',
  issuer: 'https://gitlab.com', project: 'https://gitlab.com/acme/payments/api', project_path: 'acme/payments/api', project_id: '4301877',
  namespace_path: 'acme/payments', ref: 'main', ref_type: 'branch', ref_protected: 'true', pipeline_id: '1504771836', job_id: '8269345391',
  user_login: 'ada.lovelace', environment: 'production', role: 'deploy', scope: 'https://gitlab.com/acme/payments/api',
  roleArn: 'arn:aws:iam::111122223333:role/payments-deploy', issuanceId: 'bench', sessionName: 'gitlab-4301877-8269345391', durationSeconds: 3600,
  token_sha256: '0f3c', jti: 'bench', expiresAt: 1830000000, accessKeyId: 'ASIABENCH', expiration: '2026-11-26T13:00:00.000Z',
  assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/payments-deploy/gitlab-4301877-8269345391',
}

/** What a deployed Lambda's environment holds (no network is needed to build clients from it). */
const LAMBDA_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  ARC_ENV: 'production',
  ARC_APP_NAME: 'tanuki-sts',
  ARC_STACK_NAME: 'TanukiStsProduction',
  AWS_REGION: 'us-east-1',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_LAMBDA_FUNCTION_NAME: 'TanukiStsProduction-PostCredentials',
  AWS_ACCESS_KEY_ID: 'ASIABENCHBENCHBENCH1',
  AWS_SECRET_ACCESS_KEY: 'bench-secret-not-a-real-key',
  AWS_SESSION_TOKEN: 'bench-session-token',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  BROKER_ISSUERS: 'https://gitlab.com',
  BROKER_AUDIENCE: 'https://sts.example.com',
  BROKER_TABLE_MAPPINGS: 'TanukiStsProduction-MappingsTable-1',
  BROKER_TABLE_AUDIT: 'TanukiStsProduction-AuditTable-1',
  BROKER_TABLE_ISSUER_KEYS: 'TanukiStsProduction-IssuerKeysTable-1',
  BROKER_EVENTS_TOPIC: 'arn:aws:sns:us-east-1:111122223333:TanukiStsProduction-CredentialsIssuedEventTopic-1',
}

interface ChildResult { load: number; invokes: Array<{ ms: number; status?: number }> }

async function coldStart (file: string, env: Record<string, string>, events: unknown[] = []): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [CHILD, file], { env: { ...env, BENCH_EVENTS: JSON.stringify(events) }, maxBuffer: 1 << 24 })
  const line = stdout.split('\n').find(l => l.startsWith('BENCH_RESULT '))
  if (!line) throw new Error(`no result from ${file}: ${stdout.slice(-500)}`)
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult
}

async function main (): Promise<void> {
  const bundles: Bundle[] = [
    ...await Promise.all(LAMBDAS.map(l => bundleLambda(l))),
    await bundle('sdk-only', join(__dirname, '_sdk-only.ts')),
    await bundle('sdk-clients', join(__dirname, '_sdk-clients.ts')),
  ]
  const loads = new Map<string, number[]>(bundles.map(b => [b.name, []]))
  // Rounds interleave the bundles, so a busy moment on the machine lands on all of them alike, and each round starts
  // at the next bundle, so none always runs first (or right after the same neighbour).
  for (let round = 0; round < SAMPLES; round++) {
    for (let k = 0; k < bundles.length; k++) {
      const b = bundles[(round + k) % bundles.length]
      loads.get(b.name)?.push((await coldStart(b.file, LAMBDA_ENV)).load)
    }
  }
  // Ratios pair each round's samples (taken one after the other) and take the median over rounds: the machine's load
  // drifts, and a pair shares its moment.
  const paired = (name: string, base: string) => {
    const a = loads.get(name) ?? []
    const b = loads.get(base) ?? []
    return median(a.map((x, i) => x / b[i]))
  }
  const targets: Record<string, number> = { 'http/post-credentials': 100, 'http/get-credentials': 100, 'http/get-healthz': 15 }
  for (const b of bundles) {
    const sample = loads.get(b.name) ?? []
    emit({ bench: 'cold_start', subject: b.name, metric: 'bundle_bytes', value: b.bytes, unit: 'B' })
    emit({ bench: 'cold_start', subject: b.name, metric: 'load_p50_ms', value: ms(median(sample), 1), unit: 'ms', target: targets[b.name],
      note: `${sample.length} fresh processes; p90 ${ms(quantile(sample, 0.9), 1)} ms, min ${ms(Math.min(...sample), 1)} ms` })
    if (b.name === 'sdk-clients') {
      // What constructing the two clients alone costs over importing them: a Lambda that sends requests cannot skip it.
      emit({ bench: 'cold_start', subject: b.name, metric: 'load_vs_sdk_imports', value: ms(paired(b.name, 'sdk-only'), 2),
        note: 'constructing DynamoDBClient and STSClient (no request sent) over importing them: what no Lambda that sends requests can skip, ' +
          'and most or all of the 15% that load_vs_sdk_imports allows' })
    }
    if (b.name.endsWith('credentials') && b.name.startsWith('http/')) {
      emit({ bench: 'cold_start', subject: b.name, metric: 'load_vs_sdk_imports', value: ms(paired(b.name, 'sdk-only'), 2), target: 1.15,
        note: 'vs sdk-only: @aws-sdk/client-dynamodb + client-sts (clients and the commands sent), bundled the same way; median of per-round ratios' })
      emit({ bench: 'cold_start', subject: b.name, metric: 'load_vs_sdk_clients', value: ms(paired(b.name, 'sdk-clients'), 2), target: 1.15,
        note: 'vs sdk-clients: the same imports, and both clients constructed with the broker\'s options (the 1.15 read as imports + construction)' })
    }
  }

  await firstRequests(bundles.find(b => b.name === 'http/post-credentials'), await bundle('publish-once', join(__dirname, '_publish-once.ts')))
}

/**
 * The first and second request of fresh processes, against the local world, in both places an event can go: sandbox's
 * bus (a local sink), and the AWS path (no sandbox; SNS and SSM faked on loopback, DynamoDB by endpoint). ARC_ENV stays
 * testing: a deployed stack's (staging, production) refuses the http:// issuer and endpoints this local world has.
 */
async function firstRequests (post: Bundle | undefined, publishOnce: Bundle): Promise<void> {
  if (!post) throw new Error('no post-credentials bundle')
  const world = await startWorld()
  const sink = await startEventSink()
  const topicArn = 'arn:aws:sns:us-east-1:000000000000:TanukiStsStaging-CredentialsIssuedEventTopic-BENCH'
  const aws = await startFakeAws({
    port: PORTS.aws,
    lookup: id => (id === LOCAL_BROKER_PRINCIPAL.accessKeyId ? { secretAccessKey: LOCAL_BROKER_PRINCIPAL.secretAccessKey } : undefined),
    // Where @architect/functions (the publisher before BROKER_EVENTS_TOPIC) looked the topic up: the stack's SSM parameters.
    parameters: { '/TanukiStsStaging/events/credentials-issued': topicArn },
  })
  await world.putMapping(projectMapping(world.issuer.url))
  const {
    BROKER_TABLE_MAPPINGS: _m, BROKER_TABLE_AUDIT: _a, BROKER_TABLE_ISSUER_KEYS: _k, BROKER_EVENTS_TOPIC: _e, AWS_SESSION_TOKEN: _t, ...deployed
  } = LAMBDA_ENV
  const credentials = { AWS_ACCESS_KEY_ID: LOCAL_BROKER_PRINCIPAL.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_BROKER_PRINCIPAL.secretAccessKey }
  const modes: Array<[string, Record<string, string>, () => number]> = [
    // Sandbox's Lambda environment: no table names (sandbox derives them), the local broker's credentials.
    ['sandbox', { ...deployed, ...world.env, ...credentials }, () => sink.received],
    ['aws', {
      ...deployed,
      ...world.env,
      ...credentials,
      ARC_ENV: 'testing',
      ARC_SANDBOX: '',
      ARC_STACK_NAME: 'TanukiStsStaging',
      BROKER_TABLE_MAPPINGS: TABLES.mappings,
      BROKER_TABLE_AUDIT: TABLES.audit,
      BROKER_TABLE_ISSUER_KEYS: TABLES.issuerKeys,
      BROKER_EVENTS_TOPIC: topicArn,
      AWS_ENDPOINT_URL: aws.url,
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${PORTS.tables}`,
    }, () => aws.calls.Publish],
  ]
  for (const [mode, env, published] of modes) {
    const first: number[] = []
    const second: number[] = []
    const firstPublish: number[] = []
    const secondPublish: number[] = []
    const before = { published: published(), ssm: aws.calls.GetParametersByPath }
    const runs = Math.min(SAMPLES, 15)
    const twoEvents = () => Promise.all([0, 1].map(async () => postEvent(await world.issuer.mint({ jti: randomUUID() }), 'role=deploy', randomUUID())))
    for (let i = 0; i < runs; i++) {
      const r = await coldStart(post.file, env, await twoEvents())
      const n = await coldStart(publishOnce.file, env, [SAMPLE_EVENT, SAMPLE_EVENT])
      if ([...r.invokes, ...n.invokes].some(x => x.status !== 200)) throw new Error(`a ${mode} request failed: ${JSON.stringify([r.invokes, n.invokes])}`)
      first.push(r.invokes[0].ms)
      second.push(r.invokes[1].ms)
      firstPublish.push(n.invokes[0].ms)
      secondPublish.push(n.invokes[1].ms)
    }
    const subject = `http/post-credentials ${mode}`
    const note = mode === 'sandbox'
      ? 'fresh process; local DynamoDB, issuer (discovery + JWKS on the first request), STS, and sandbox\'s event bus as a local sink'
      : 'fresh process; no sandbox: events to SNS (faked on loopback, SigV4 checked), DynamoDB/STS/issuer local'
    emit({ bench: 'cold_start', subject, metric: 'first_request_p50_ms', value: ms(median(first), 1), unit: 'ms', note })
    emit({ bench: 'cold_start', subject, metric: 'second_request_p50_ms', value: ms(median(second), 1), unit: 'ms' })
    emit({ bench: 'cold_start', subject, metric: 'first_publish_p50_ms', value: ms(median(firstPublish), 1), unit: 'ms',
      note: 'a fresh process\'s first event publish alone (_publish-once.ts, bundled like a Lambda; nothing warmed before it, ' +
        `so an upper bound for what it adds to a first request); the second: ${ms(median(secondPublish), 1)} ms` })
    emit({ bench: 'cold_start', subject, metric: 'events_published', value: published() - before.published, target: runs * 4,
      met: published() - before.published === runs * 4,
      note: `of ${runs * 2} issuances (and ${runs * 2} lone publishes)${mode === 'aws' ? `; SSM lookups: ${aws.calls.GetParametersByPath - before.ssm}, ` +
        `rejected signatures: ${aws.calls.rejected}` : ''}` })
  }
  await aws.close()
  await sink.close()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
