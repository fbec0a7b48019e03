// Figure 5, the cold first issuance: N fresh `node` processes, each booting Node, loading the production bundle of
// POST /credentials and serving one issuance against the local world (dynalite, issuer, STS and sandbox's event bus,
// all out of the child's process), (a) with the issuer's keys in the issuer-keys table and (b) with none stored, so the
// broker fetches them from the issuer. Beside each, a floor doing the same I/O in straight-line code (_cold-floor.ts).
// BENCH_BEFORE_ROOT=DIR adds the POST bundle built from DIR's src/ (e.g. `git archive main | tar -x -C DIR`).
// Then a load as Lambda sees it: bursts of fresh processes, several at once, one issuance each, on the AWS path (events
// as signed SNS Publishes), counting what the issuer is asked, with the keys in the table and without.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb'
import { LOCAL_BROKER_PRINCIPAL } from '../src/local/stack'
import { ROOT, bundle, bundleLambda } from './_bundle'
import type { Bundle } from './_bundle'
import type { FloorConfig } from './_cold-floor'
import { emit, median, ms, quantile } from './_figures'
import { startFakeAws } from '../test/helpers/fake-aws'
import { PORTS, ROLE, ROLE_ARN, TABLES, awsPathEnv, postEvent, projectMapping, startEventSink, startWorld, storeIssuerKeys } from './_local'

const run = promisify(execFile)
const SAMPLES = Number(process.env.BENCH_COLD_SAMPLES || 21)
const CHILD = join(__dirname, '_cold-child.js')
const BURST = Number(process.env.BENCH_BURST_PROCESSES || 24)
const CONCURRENCY = Number(process.env.BENCH_BURST_CONCURRENCY || 4)

interface Cold { total: number; boot: number; load: number; invoke: number; cpu: number; issuerRequests: number }

async function main (): Promise<void> {
  const world = await startWorld()
  const sink = await startEventSink()
  const aws = await startFakeAws({
    port: PORTS.aws,
    lookup: id => (id === LOCAL_BROKER_PRINCIPAL.accessKeyId ? { secretAccessKey: LOCAL_BROKER_PRINCIPAL.secretAccessKey } : undefined),
  })
  await world.putMapping(projectMapping(world.issuer.url))
  const before = process.env.BENCH_BEFORE_ROOT
  const floorBundle = (verifier: 'node' | 'jose') => bundle(`cold-floor-${verifier}`, join(__dirname, '_cold-floor.ts'),
    { define: { FLOOR_VERIFIER: JSON.stringify(verifier) } })
  const bundles = {
    broker: await bundleLambda('http/post-credentials'),
    floorNode: await floorBundle('node'),
    floorJose: await floorBundle('jose'),
    ...(before && { before: await bundle('before/http/post-credentials', join(before, 'src', 'http', 'post-credentials', 'index.ts'),
      { nodePaths: [join(ROOT, 'node_modules')] }) }),
  }
  const env = { ...world.env, PATH: process.env.PATH ?? '', AWS_ACCESS_KEY_ID: LOCAL_BROKER_PRINCIPAL.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_BROKER_PRINCIPAL.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' }
  const floorConfig = (keys: 'table' | 'fetch'): FloorConfig => ({
    keys, tables: TABLES, dynamo: `http://127.0.0.1:${PORTS.tables}`, sts: world.sts.url, events: { bus: `${sink.url}/events` }, role: ROLE, roleArn: ROLE_ARN,
  })

  /** The issuer's current keys stored, as a broker (or `issuers keys push`) left them; or none. */
  const keysStored = async (stored: boolean) => {
    if (!stored) return void await world.db.send(new DeleteItemCommand({ TableName: TABLES.issuerKeys, Key: { issuer: { S: world.issuer.url } } }))
    await storeIssuerKeys(world.db, world.issuer.url, world.issuer.publicJwk)
  }

  async function cold (b: Bundle, extra: Record<string, string> = {}): Promise<Cold> {
    const asked = world.issuer.stats.discovery + world.issuer.stats.jwks
    const event = postEvent(await world.issuer.mint({ jti: randomUUID() }), `role=${ROLE}`, randomUUID())
    const { stdout } = await run(process.execPath, [CHILD, b.file], { env: { ...env, ...extra, BENCH_EVENTS: JSON.stringify([event]) }, maxBuffer: 1 << 24 })
    const line = stdout.split('\n').find(l => l.startsWith('BENCH_RESULT '))
    if (!line) throw new Error(`no result from ${b.name}: ${stdout.slice(-500)}`)
    const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as { load: number; bootMs: number; cpuMs: number; invokes: Array<{ ms: number; status?: number }> }
    if (r.invokes[0]?.status !== 200) throw new Error(`${b.name}: the issuance failed (${JSON.stringify(r.invokes)}): ${stdout.slice(-800)}`)
    const issuerRequests = world.issuer.stats.discovery + world.issuer.stats.jwks - asked
    if (process.env.BENCH_DEBUG && issuerRequests > 0) console.error(`DEBUG ${b.name} ${JSON.stringify(extra).slice(0, 40)} ${issuerRequests}`)
    return { total: r.bootMs + r.load + r.invokes[0].ms, boot: r.bootMs, load: r.load, invoke: r.invokes[0].ms, cpu: r.cpuMs, issuerRequests }
  }

  type Series = 'table' | 'fetched' | 'floorNodeTable' | 'floorJoseTable' | 'floorNodeFetched' | 'floorJoseFetched' | 'before'
  const samples = new Map<Series, Cold[]>()
  const add = (s: Series, c: Cold) => samples.set(s, [...samples.get(s) ?? [], c])
  // One round runs every series once, in an order that rotates round by round: a busy moment lands on all alike.
  const steps: Array<[Series, () => Promise<Cold>]> = [
    ['table', async () => { await keysStored(true); return cold(bundles.broker) }],
    ['floorNodeTable', async () => { await keysStored(true); return cold(bundles.floorNode, { BENCH_FLOOR: JSON.stringify(floorConfig('table')) }) }],
    ['floorJoseTable', async () => { await keysStored(true); return cold(bundles.floorJose, { BENCH_FLOOR: JSON.stringify(floorConfig('table')) }) }],
    ['fetched', async () => { await keysStored(false); return cold(bundles.broker) }],
    ['floorNodeFetched', async () => { await keysStored(false); return cold(bundles.floorNode, { BENCH_FLOOR: JSON.stringify(floorConfig('fetch')) }) }],
    ['floorJoseFetched', async () => { await keysStored(false); return cold(bundles.floorJose, { BENCH_FLOOR: JSON.stringify(floorConfig('fetch')) }) }],
    ...(bundles.before ? [['before', async () => { await keysStored(false); return cold(bundles.before as Bundle) }] as [Series, () => Promise<Cold>]] : []),
  ]
  for (let round = 0; round < SAMPLES; round++) {
    for (let k = 0; k < steps.length; k++) {
      const [series, step] = steps[(round + k) % steps.length]
      add(series, await step())
    }
  }

  const of = (s: Series) => samples.get(s) ?? []
  const p50 = (s: Series, f: keyof Cold = 'total') => median(of(s).map(c => c[f]))
  const ratio = (a: Series, b: Series, f: keyof Cold = 'total') => median(of(a).map((c, i) => c[f] / of(b)[i][f]))
  const requests = (s: Series) => of(s).reduce((n, c) => n + c.issuerRequests, 0)
  const parts = (s: Series) => `boot ${ms(p50(s, 'boot'), 1)} + load ${ms(p50(s, 'load'), 1)} + issuance ${ms(p50(s, 'invoke'), 1)} ms (medians); ` +
    `p90 ${ms(quantile(of(s).map(c => c.total), 0.9), 1)} ms; process CPU p50 ${ms(p50(s, 'cpu'), 1)} ms`
  const report = (s: Series, subject: string, floors: [Series, Series], target?: number, requestTarget?: number) => {
    emit({ bench: 'cold_issuance', subject, metric: 'first_issuance_p50_ms', value: ms(p50(s), 1), unit: 'ms',
      note: `${of(s).length} fresh processes, one issuance each: ${parts(s)}` })
    emit({ bench: 'cold_issuance', subject, metric: 'issuer_requests', value: requests(s), ...(requestTarget !== undefined && { target: requestTarget }),
      note: `discovery + JWKS requests the issuer received from ${of(s).length} processes` })
    emit({ bench: 'cold_issuance', subject, metric: 'vs_floor_node', value: ms(ratio(s, floors[0]), 2), ...(target !== undefined && { target }),
      note: `median of per-round ratios; floor (node:crypto verify) p50 ${ms(p50(floors[0]), 1)} ms: ${parts(floors[0])}` })
    emit({ bench: 'cold_issuance', subject, metric: 'vs_floor_jose', value: ms(ratio(s, floors[1]), 2), ...(target !== undefined && { target }),
      note: `floor verifying with jose (the broker's library) p50 ${ms(p50(floors[1]), 1)} ms: ${parts(floors[1])}` })
    emit({ bench: 'cold_issuance', subject, metric: 'cpu_vs_floor_jose', value: ms(ratio(s, floors[1], 'cpu'), 2),
      note: 'the same ratio in process CPU time (boot to answer), which the machine\'s other work moves less than wall time' })
  }
  report('table', 'keys in the table', ['floorNodeTable', 'floorJoseTable'], 1.25, 0)
  report('fetched', 'keys fetched from the issuer', ['floorNodeFetched', 'floorJoseFetched'])
  if (bundles.before) report('before', `before (${before})`, ['floorNodeFetched', 'floorJoseFetched'])
  emit({ bench: 'cold_issuance', subject: 'keys in the table', metric: 'vs_keys_fetched', value: ms(ratio('table', 'fetched'), 2),
    note: `median of per-round ratios; CPU: ${ms(ratio('table', 'fetched', 'cpu'), 2)}` })
  if (bundles.before) {
    emit({ bench: 'cold_issuance', subject: 'keys in the table', metric: 'vs_before', value: ms(ratio('table', 'before'), 2),
      note: `median of per-round ratios against ${before}; CPU: ${ms(ratio('table', 'before', 'cpu'), 2)}` })
  }
  emit({ bench: 'cold_issuance', subject: 'keys in the table', metric: 'saved_vs_fetched_ms', value: ms(p50('fetched') - p50('table'), 1), unit: 'ms',
    note: 'on loopback: what two issuer requests (and Node\'s fetch, loaded on first use) cost a cold container here; ' +
      'from AWS to gitlab.com add two TLS handshakes and round trips' })

  // Lambda-like load: BURST fresh processes, CONCURRENCY at a time (CI jobs starting together, each meeting a new
  // container), on the AWS path: every event a signed SNS Publish.
  // (Merged over the sandbox environment: an empty ARC_SANDBOX is no sandbox.)
  const awsEnv = { ...awsPathEnv(world.issuer.url, world.sts.url, aws.url), ARC_SANDBOX: '' }
  for (const stored of [true, false]) {
    await keysStored(stored)
    const before = { asked: world.issuer.stats.discovery + world.issuer.stats.jwks, published: aws.calls.Publish }
    const totals: number[] = []
    let errors = 0
    let next = 0
    const t0 = performance.now()
    const worker = async () => {
      for (let i = next++; i < BURST; i = next++) {
        try { totals.push((await cold(bundles.broker, awsEnv)).total) }
        catch (err) {
          errors++
          if (process.env.BENCH_DEBUG) console.error(err)
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    const seconds = (performance.now() - t0) / 1000
    const subject = stored ? 'lambda-like load, keys in the table' : 'lambda-like load, no keys stored'
    const asked = world.issuer.stats.discovery + world.issuer.stats.jwks - before.asked
    emit({ bench: 'cold_issuance', subject, metric: 'issuer_requests', value: asked, ...(stored && { target: 0 }),
      note: `discovery + JWKS requests the issuer received from ${BURST} fresh processes, ${CONCURRENCY} at a time, ` +
        `one issuance each${stored ? '' : ': each container that finds no keys fetches them and stores them, so later ones read them from the table'}` })
    emit({ bench: 'cold_issuance', subject, metric: 'errors', value: errors, target: 0 })
    emit({ bench: 'cold_issuance', subject, metric: 'first_issuance_p50_ms', value: ms(median(totals), 1), unit: 'ms',
      note: `boot + load + one issuance per process, ${CONCURRENCY} processes at once on 2 vCPUs; p90 ${ms(quantile(totals, 0.9), 1)} ms; ` +
        `the burst took ${ms(seconds, 2)} s` })
    emit({ bench: 'cold_issuance', subject, metric: 'events_published', value: aws.calls.Publish - before.published, target: BURST,
      met: aws.calls.Publish - before.published === BURST,
      note: `signed SNS Publishes verified; signatures refused so far: ${aws.calls.rejected}` })
  }
  await aws.close()
  await sink.close()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
