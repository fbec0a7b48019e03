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
import { postEvent, projectMapping, startEventSink, startWorld } from './_local'

const run = promisify(execFile)
const SAMPLES = Number(process.env.BENCH_COLD_SAMPLES || 21)
const CHILD = join(__dirname, '_cold-child.js')

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
}

interface ChildResult { load: number; invokes: Array<{ ms: number; status?: number }> }

async function coldStart (file: string, env: Record<string, string>, events: unknown[] = []): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [CHILD, file], { env: { ...env, BENCH_EVENTS: JSON.stringify(events) }, maxBuffer: 1 << 24 })
  const line = stdout.split('\n').find(l => l.startsWith('BENCH_RESULT '))
  if (!line) throw new Error(`no result from ${file}: ${stdout.slice(-500)}`)
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult
}

async function main (): Promise<void> {
  const bundles: Bundle[] = [...await Promise.all(LAMBDAS.map(l => bundleLambda(l))), await bundle('sdk-only', join(__dirname, '_sdk-only.ts'))]
  const loads = new Map<string, number[]>(bundles.map(b => [b.name, []]))
  // Rounds interleave the bundles, so a busy moment on the machine lands on all of them alike.
  for (let round = 0; round < SAMPLES; round++) {
    for (const b of bundles) loads.get(b.name)?.push((await coldStart(b.file, LAMBDA_ENV)).load)
  }
  const sdk = median(loads.get('sdk-only') ?? [])
  const targets: Record<string, number> = { 'http/post-credentials': 100, 'http/get-credentials': 100, 'http/get-healthz': 15 }
  for (const b of bundles) {
    const sample = loads.get(b.name) ?? []
    emit({ bench: 'cold_start', subject: b.name, metric: 'bundle_bytes', value: b.bytes, unit: 'B' })
    emit({ bench: 'cold_start', subject: b.name, metric: 'load_p50_ms', value: ms(median(sample), 1), unit: 'ms', target: targets[b.name],
      note: `${sample.length} fresh processes; p90 ${ms(quantile(sample, 0.9), 1)} ms, min ${ms(Math.min(...sample), 1)} ms` })
    if (b.name.endsWith('credentials') && b.name.startsWith('http/')) {
      emit({ bench: 'cold_start', subject: b.name, metric: 'load_vs_sdk_imports', value: ms(median(sample) / sdk, 2), target: 1.15,
        note: 'vs sdk-only: @aws-sdk/client-dynamodb + client-sts (clients and the commands sent), bundled the same way' })
    }
  }

  // First requests, each in a fresh process, against the local world and the sandbox event bus (a local sink).
  const world = await startWorld()
  const sink = await startEventSink()
  await world.putMapping(projectMapping(world.issuer.url))
  const post = bundles.find(b => b.name === 'http/post-credentials')
  // Sandbox's Lambda environment: no table names (sandbox derives them), the local broker's credentials.
  const { BROKER_TABLE_MAPPINGS: _m, BROKER_TABLE_AUDIT: _a, AWS_SESSION_TOKEN: _t, ...deployed } = LAMBDA_ENV
  const env = { ...deployed, ...world.env, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '' }
  const first: number[] = []
  const second: number[] = []
  for (let i = 0; i < Math.min(SAMPLES, 15) && post; i++) {
    const events = await Promise.all([0, 1].map(async () => postEvent(await world.issuer.mint({ jti: randomUUID() }), 'role=deploy', randomUUID())))
    const r = await coldStart(post.file, env, events)
    if (r.invokes.some(x => x.status !== 200)) throw new Error(`a first request failed: ${JSON.stringify(r.invokes)}`)
    first.push(r.invokes[0].ms)
    second.push(r.invokes[1].ms)
  }
  const note = 'fresh process, sandbox mode: local DynamoDB, issuer (discovery + JWKS on the first), STS and event bus on loopback'
  emit({ bench: 'cold_start', subject: 'http/post-credentials', metric: 'first_request_p50_ms', value: ms(median(first), 1), unit: 'ms', note })
  emit({ bench: 'cold_start', subject: 'http/post-credentials', metric: 'second_request_p50_ms', value: ms(median(second), 1), unit: 'ms' })
  emit({ bench: 'cold_start', subject: 'http/post-credentials', metric: 'events_published', value: sink.received, note: `of ${first.length * 2} issuances` })
  await sink.close()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
