// Figure 1, issuance overhead: a full issuance through the POST handler function (warm, in this process, the event
// publish replaced by a no-op) against the floor (_floor.ts) on the same local DynamoDB and STS; runs interleaved.
import { createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import { createFloor } from './_floor'
import { emit, median, ms, quantile, timed } from './_figures'
import { inMemoryHandler } from './_in-memory'
import { PORTS, postEvent, projectMapping, startWorld } from './_local'

const WARMUP = 50
/** Blocks of interleaved runs: the ratio is taken per block, so a busy moment on a shared machine spoils one block, not the figure. */
const BLOCKS = 5
const BLOCK_RUNS = Number(process.env.BENCH_ISSUANCE_RUNS || 300)
const RUNS = BLOCKS * BLOCK_RUNS

async function main (): Promise<void> {
  const world = await startWorld()
  await world.putMapping(projectMapping(world.issuer.url))
  const handler = createCredentialsHandler('POST', () => composeBroker(world.env, { publish: async () => {} }).exchange)
  const floorOptions = { publicJwk: world.issuer.publicJwk, dynamoEndpoint: `http://127.0.0.1:${PORTS.tables}`, stsEndpoint: world.sts.url }
  const floor = createFloor(floorOptions)
  const joseFloor = createFloor({ ...floorOptions, verifier: 'jose' })
  const tokens = await Promise.all(Array.from({ length: WARMUP + RUNS }, (_, i) => world.issuer.mint({ jti: randomUUID(), job_id: String(9000000000 + i) })))

  let errors = 0
  const broker = async (token: string) => {
    const result = await handler(postEvent(token, 'role=deploy', randomUUID()))
    if (result.statusCode !== 200) errors++
  }
  const brokerTimes: number[] = []
  const floorTimes: number[] = []
  const joseFloorTimes: number[] = []
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Rotate which goes first, so none always runs on another's warm caches or GC debt.
    const runs: Array<[(token: string) => Promise<void>, number[]]> = [[broker, brokerTimes], [floor, floorTimes], [joseFloor, joseFloorTimes]]
    for (let k = 0; k < runs.length; k++) {
      const [run, times] = runs[(i + k) % runs.length]
      const [elapsed] = await timed(() => run(tokens[i]))
      if (i >= WARMUP) times.push(elapsed)
    }
  }
  const joseBlockRatios = Array.from({ length: BLOCKS }, (_, b) => {
    const slice = (times: number[]) => times.slice(b * BLOCK_RUNS, (b + 1) * BLOCK_RUNS)
    return median(slice(brokerTimes)) / median(slice(joseFloorTimes))
  })
  const blockRatios = Array.from({ length: BLOCKS }, (_, b) => {
    const slice = (times: number[]) => times.slice(b * BLOCK_RUNS, (b + 1) * BLOCK_RUNS)
    return median(slice(brokerTimes)) / median(slice(floorTimes))
  })
  const note = `${RUNS} warm runs each, interleaved; publish: no-op; dynalite, local issuer and local STS in this process`
  emit({ bench: 'issuance', metric: 'broker_p50_ms', value: ms(median(brokerTimes)), unit: 'ms', note })
  emit({ bench: 'issuance', metric: 'broker_p99_ms', value: ms(quantile(brokerTimes, 0.99)), unit: 'ms' })
  emit({ bench: 'issuance', metric: 'floor_p50_ms', value: ms(median(floorTimes)), unit: 'ms' })
  emit({ bench: 'issuance', metric: 'floor_p99_ms', value: ms(quantile(floorTimes, 0.99)), unit: 'ms' })
  emit({ bench: 'issuance', metric: 'ratio_p50', value: ms(median(blockRatios)), target: 1.1,
    note: `median over ${BLOCKS} blocks of ${BLOCK_RUNS} of each block's p50 ratio (blocks: ${blockRatios.map(r => ms(r)).join(', ')}); all runs pooled: ` +
      `${ms(median(brokerTimes) / median(floorTimes))}` })
  emit({ bench: 'issuance', metric: 'floor_jose_p50_ms', value: ms(median(joseFloorTimes)), unit: 'ms',
    note: 'the same floor with jose\'s compactVerify (WebCrypto) as its RS256 verify: the library the broker verifies with' })
  emit({ bench: 'issuance', metric: 'ratio_p50_vs_jose_floor', value: ms(median(joseBlockRatios)), target: 1.1,
    note: `blocks: ${joseBlockRatios.map(r => ms(r)).join(', ')}` })
  emit({ bench: 'issuance', metric: 'ratio_p99', value: ms(quantile(brokerTimes, 0.99) / quantile(floorTimes, 0.99)),
    note: 'informative; the target is on the median' })
  emit({ bench: 'issuance', metric: 'overhead_p50_ms', value: ms(median(brokerTimes) - median(floorTimes)), unit: 'ms' })
  emit({ bench: 'issuance', metric: 'errors', value: errors, target: 0 })

  // The CPU side alone, with little noise: the handler with in-memory DynamoDB and STS, against the floor's CPU work.
  const alone = inMemoryHandler(world.env, projectMapping(world.issuer.url))
  const key = createPublicKey({ key: world.issuer.publicJwk as JsonWebKey, format: 'jwk' })
  const floorCpu = (token: string) => {
    const [h, p, sig] = token.split('.')
    verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url'))
    JSON.parse(Buffer.from(p, 'base64url').toString())
  }
  const events = tokens.map(token => postEvent(token, 'role=deploy', randomUUID()))
  // CPU time (process.cpuUsage: this thread and the thread pool's verify), not wall time: a busy machine delays a
  // process without adding to what it computes. Rounds alternate, and each side's figure is its median round.
  const cpuRound = async (fn: (i: number) => unknown, n: number) => {
    const c0 = process.cpuUsage()
    for (let i = 0; i < n; i++) await fn(i % tokens.length)
    const c = process.cpuUsage(c0)
    return (c.user + c.system) / n
  }
  const cpu: Record<'broker' | 'floor', number[]> = { broker: [], floor: [] }
  const sides = { broker: (i: number) => alone(events[i]), floor: (i: number) => floorCpu(tokens[i]) }
  for (let round = 0; round < 22; round++) {
    for (const side of round % 2 ? ['broker', 'floor'] as const : ['floor', 'broker'] as const) {
      const us = await cpuRound(sides[side], 1000)
      if (round >= 2) cpu[side].push(us)
    }
  }
  emit({ bench: 'issuance', metric: 'broker_cpu_us', value: ms(median(cpu.broker), 1), unit: 'us',
    note: 'CPU time per issuance (median of 20 rounds of 1,000), handler with in-memory DynamoDB and STS (_in-memory.ts), logging on; ' +
      'the floor\'s CPU is one verify + payload parse' })
  emit({ bench: 'issuance', metric: 'floor_cpu_us', value: ms(median(cpu.floor), 1), unit: 'us' })
  floor.destroy()
  joseFloor.destroy()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
