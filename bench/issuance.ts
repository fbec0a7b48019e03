// Figure 1, a warm issuance on the real request path: the POST handler (warm, in this process, wired as the Lambda
// wires it: its real publisher and metrics) against floors doing the same I/O in straight-line code (_floor.ts), the
// event publish included on both sides, on each path an event takes: sandbox's bus, and one SigV4-signed SNS Publish
// (the sink checks every signature). DynamoDB, STS, the issuer and the sinks run in processes of their own
// (_world.ts), off the handler's thread. Runs interleaved.
import { createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import { LOCAL_BROKER_PRINCIPAL } from '../src/local/stack'
import { createFloor } from './_floor'
import type { Floor } from './_floor'
import { emit, median, ms, quantile, timed } from './_figures'
import { inMemoryHandler } from './_in-memory'
import { PORTS, TOPIC_ARN, postEvent, projectMapping } from './_local'
import { startWorldProcesses } from './_world'

const WARMUP = 50
/** Blocks of interleaved runs: the ratio is taken per block, so a busy moment on a shared machine spoils one block, not the figure. */
const BLOCKS = 5
const BLOCK_RUNS = Number(process.env.BENCH_ISSUANCE_RUNS || 300)
const RUNS = BLOCKS * BLOCK_RUNS
/** The regression guard of issue 15: a warm issuance, publish included, against the floor verifying with jose. */
const TARGET = 1.15

type Path = 'bus' | 'sns'
type Side = 'broker' | 'floorJose' | 'floorNode'
interface Sample { readonly ms: number; readonly cpuMs: number }

async function main (): Promise<void> {
  const world = await startWorldProcesses()
  await world.putMapping(projectMapping(world.issuerUrl))
  const tokens = await world.mint(Array.from({ length: WARMUP + RUNS }, (_, i) => ({ jti: randomUUID(), job_id: String(9000000000 + i) })))

  const floorOptions = { publicJwk: world.publicJwk, dynamoEndpoint: `http://127.0.0.1:${PORTS.tables}`, stsEndpoint: world.env.BROKER_STS_ENDPOINT }
  const events = {
    bus: { bus: `http://127.0.0.1:${PORTS.events}/events` },
    sns: { sns: world.awsEnv.AWS_ENDPOINT_URL_SNS, topicArn: TOPIC_ARN, accessKeyId: LOCAL_BROKER_PRINCIPAL.accessKeyId,
      secretAccessKey: LOCAL_BROKER_PRINCIPAL.secretAccessKey },
  } as const
  const floors: Floor[] = []
  let errors = 0
  const sides = new Map<`${Path}:${Side}`, (token: string) => Promise<void>>()
  for (const path of ['bus', 'sns'] as const) {
    // The Lambda's own wiring (createCredentialsHandler's default, with this path's environment).
    const handler = createCredentialsHandler('POST', metrics => composeBroker(path === 'bus' ? world.env : world.awsEnv, { metrics }).exchange)
    sides.set(`${path}:broker`, async token => {
      if ((await handler(postEvent(token, 'role=deploy', randomUUID()))).statusCode !== 200) errors++
    })
    for (const [side, verifier] of [['floorJose', 'jose'], ['floorNode', 'node']] as const) {
      const floor = createFloor({ ...floorOptions, verifier, events: events[path] })
      floors.push(floor)
      sides.set(`${path}:${side}`, floor)
    }
  }

  const samples = new Map<string, Sample[]>([...sides.keys()].map(k => [k, []]))
  const order = [...sides]
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Rotate which goes first, so none always runs on another's warm caches or GC debt.
    for (let k = 0; k < order.length; k++) {
      const [name, run] = order[(i + k) % order.length]
      const c0 = process.cpuUsage()
      const [elapsed] = await timed(() => run(tokens[i]))
      const c = process.cpuUsage(c0)
      if (i >= WARMUP) samples.get(name)?.push({ ms: elapsed, cpuMs: (c.user + c.system) / 1000 })
    }
  }
  const stats = await world.stats()

  const times = (name: string) => (samples.get(name) ?? []).map(s => s.ms)
  const blockRatios = (a: string, b: string) => Array.from({ length: BLOCKS }, (_, k) => {
    const slice = (name: string) => times(name).slice(k * BLOCK_RUNS, (k + 1) * BLOCK_RUNS)
    return median(slice(a)) / median(slice(b))
  })
  for (const path of ['bus', 'sns'] as const) {
    const subject = path === 'bus' ? 'publish to sandbox\'s bus' : 'publish as one signed SNS Publish'
    const [broker, jose, node] = [`${path}:broker`, `${path}:floorJose`, `${path}:floorNode`]
    const cpu = (name: string) => ms(median((samples.get(name) ?? []).map(s => s.cpuMs)), 3)
    const note = `${RUNS} warm runs per side, 6 sides interleaved; DynamoDB (dynalite), STS, issuer and event sinks each in a process of their own; ` +
      'the handler wired as the Lambda is (real publisher, EMF metrics)'
    emit({ bench: 'issuance', subject, metric: 'broker_p50_ms', value: ms(median(times(broker))), unit: 'ms', note })
    emit({ bench: 'issuance', subject, metric: 'broker_p99_ms', value: ms(quantile(times(broker), 0.99)), unit: 'ms' })
    emit({ bench: 'issuance', subject, metric: 'floor_jose_p50_ms', value: ms(median(times(jose))), unit: 'ms',
      note: 'straight-line script, the same I/O and publish, verifying with jose\'s compactVerify on a cached key (the broker\'s library)' })
    emit({ bench: 'issuance', subject, metric: 'floor_node_p50_ms', value: ms(median(times(node))), unit: 'ms',
      note: 'the same floor verifying with node:crypto' })
    const guard = blockRatios(broker, jose)
    emit({ bench: 'issuance', subject, metric: 'ratio_p50_vs_jose_floor', value: ms(median(guard)), target: TARGET,
      note: `regression guard; median over ${BLOCKS} blocks of ${BLOCK_RUNS} of each block's p50 ratio (blocks: ${guard.map(r => ms(r)).join(', ')}); ` +
        `all runs pooled: ${ms(median(times(broker)) / median(times(jose)))}` })
    emit({ bench: 'issuance', subject, metric: 'ratio_p50_vs_node_floor', value: ms(median(blockRatios(broker, node))),
      note: 'informative: no target since issue 15' })
    emit({ bench: 'issuance', subject, metric: 'overhead_p50_ms', value: ms(median(times(broker)) - median(times(jose))), unit: 'ms',
      note: 'broker p50 minus the jose floor\'s' })
    emit({ bench: 'issuance', subject, metric: 'handler_process_cpu_ms', value: cpu(broker), unit: 'ms',
      note: 'CPU of this process per issuance, median (the handler, its SDK clients and publisher; the world\'s work is in other processes); ' +
        `jose floor ${cpu(jose)} ms, node floor ${cpu(node)} ms` })
  }
  const expected = 3 * (WARMUP + RUNS)
  emit({ bench: 'issuance', metric: 'events_published', value: `bus ${stats.events.bus}, SNS ${stats.events.sns}`,
    met: stats.events.bus === expected && stats.events.sns === expected,
    target: `${expected} each (broker and both floors)`, note: `SNS signatures refused: ${stats.events.snsRejected}` })
  emit({ bench: 'issuance', metric: 'errors', value: errors, target: 0 })

  // The CPU side alone, with little noise: the handler with in-memory DynamoDB and STS, against the floor's CPU work.
  const env = world.env
  const alone = inMemoryHandler(env, projectMapping(world.issuerUrl))
  const key = createPublicKey({ key: world.publicJwk as JsonWebKey, format: 'jwk' })
  const floorCpu = (token: string) => {
    const [h, p, sig] = token.split('.')
    verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url'))
    JSON.parse(Buffer.from(p, 'base64url').toString())
  }
  const httpEvents = tokens.map(token => postEvent(token, 'role=deploy', randomUUID()))
  // CPU time (process.cpuUsage: this thread and the thread pool's verify), not wall time: a busy machine delays a
  // process without adding to what it computes. Rounds alternate, and each side's figure is its median round.
  const cpuRound = async (fn: (i: number) => unknown, n: number) => {
    const c0 = process.cpuUsage()
    for (let i = 0; i < n; i++) await fn(i % tokens.length)
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / n
  }
  const cpu: Record<'broker' | 'floor', number[]> = { broker: [], floor: [] }
  const cpuSides = { broker: (i: number) => alone(httpEvents[i]), floor: (i: number) => floorCpu(tokens[i]) }
  for (let round = 0; round < 22; round++) {
    for (const side of round % 2 ? ['broker', 'floor'] as const : ['floor', 'broker'] as const) {
      const us = await cpuRound(cpuSides[side], 1000)
      if (round >= 2) cpu[side].push(us)
    }
  }
  emit({ bench: 'issuance', metric: 'broker_cpu_us', value: ms(median(cpu.broker), 1), unit: 'us',
    note: 'CPU time per issuance (median of 20 rounds of 1,000), handler with in-memory DynamoDB and STS (_in-memory.ts), logging on, no publish; ' +
      'the floor\'s CPU is one verify + payload parse' })
  emit({ bench: 'issuance', metric: 'floor_cpu_us', value: ms(median(cpu.floor), 1), unit: 'us' })
  for (const floor of floors) floor.destroy()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
