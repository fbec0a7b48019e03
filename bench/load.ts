// Figure 4, load: 2,000 issuances from 50 concurrent callers through the POST handler in this process, wired as the
// Lambda is (its event published to sandbox's bus), each with its own pre-minted token, from a cold handler:
// throughput, latency, errors, issuer fetches, memory. DynamoDB, STS, the issuer and the bus run in processes of their
// own (_world.ts), so this process's memory is the handler's.
import { randomUUID } from 'node:crypto'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import { emit, median, ms, quantile } from './_figures'
import { createFloor } from './_floor'
import { inMemoryHandler } from './_in-memory'
import { PORTS, postEvent, projectMapping } from './_local'
import { startWorldProcesses } from './_world'

const ISSUANCES = Number(process.env.BENCH_LOAD_ISSUANCES || 2000)
const CALLERS = 50
const MiB = 1024 * 1024

function memory (): { rss: number; heap: number } {
  // With --expose-gc (npm run bench passes it) the readings are after a full collection, so they show what is kept.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const m = process.memoryUsage()
  return { rss: m.rss, heap: m.heapUsed }
}

async function round (issue: (token: string) => Promise<boolean>, tokens: string[]) {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const caller = async () => {
    for (let i = next++; i < tokens.length; i = next++) {
      const t0 = performance.now()
      const ok = await issue(tokens[i])
      latencies.push(performance.now() - t0)
      if (!ok) errors++
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CALLERS }, caller))
  return { seconds: (performance.now() - t0) / 1000, latencies, errors }
}

async function main (): Promise<void> {
  const world = await startWorldProcesses()
  await world.putMapping(projectMapping(world.issuerUrl))
  const mint = (n: number, offset: number) => world.mint(Array.from({ length: n }, (_, i) => ({ jti: randomUUID(), job_id: String(9200000000 + offset + i) })))
  const tokens = await mint(ISSUANCES, 0)
  const again = await mint(ISSUANCES, ISSUANCES)
  // A cold handler: its first 50 requests arrive together, before any key is known.
  const handler = createCredentialsHandler('POST', metrics => composeBroker(world.env, { metrics }).exchange)

  const broker = async (token: string) => (await handler(postEvent(token, 'role=deploy', randomUUID()))).statusCode === 200
  // The same I/O without the broker (_floor.ts), for what the SDK clients themselves keep per issuance.
  const floor = createFloor({ publicJwk: world.publicJwk, dynamoEndpoint: `http://127.0.0.1:${PORTS.tables}`, stsEndpoint: world.env.BROKER_STS_ENDPOINT,
    events: { bus: `http://127.0.0.1:${PORTS.events}/events` } })
  const floorIssue = async (token: string) => { await floor(token); return true }

  const before = memory()
  const r = await round(broker, tokens)
  const after = memory()
  const r2 = await round(broker, again)
  const after2 = memory()
  const { issuer: fetched, events: published } = await world.stats()
  await round(floorIssue, tokens)
  const after3 = memory()
  floor.destroy()

  // The broker's code alone (in-memory DynamoDB and STS stand-ins): 20,000 more calls, memory before and after.
  const alone = inMemoryHandler(world.env, projectMapping(world.issuerUrl))
  await round(async token => (await alone(postEvent(token, 'role=deploy', randomUUID()))).statusCode === 200, tokens)
  const beforeAlone = memory()
  for (let i = 0; i < 10; i++) {
    await round(async token => (await alone(postEvent(token, 'role=deploy', randomUUID()))).statusCode === 200, i % 2 ? tokens : again)
  }
  const afterAlone = memory()

  const note = `${ISSUANCES} issuances, ${CALLERS} concurrent callers, distinct tokens, each event published to sandbox's bus; dynalite, STS, ` +
    'issuer and bus in processes of their own'
  emit({ bench: 'load', metric: 'throughput_per_s', value: ms(ISSUANCES / r.seconds, 1), unit: 'issuances/s', note })
  emit({ bench: 'load', metric: 'p50_ms', value: ms(median(r.latencies), 1), unit: 'ms' })
  emit({ bench: 'load', metric: 'p99_ms', value: ms(quantile(r.latencies, 0.99), 1), unit: 'ms' })
  emit({ bench: 'load', metric: 'errors', value: r.errors + r2.errors, target: 0 })
  emit({ bench: 'load', metric: 'events_published', value: published.bus, target: 2 * ISSUANCES, met: published.bus === 2 * ISSUANCES,
    note: 'events the bus received from both rounds; a publish that fails is logged and the caller still gets credentials, ' +
      'so this is where a lost event shows' })
  emit({ bench: 'load', metric: 'jwks_fetches', value: fetched.jwks, target: 1,
    note: `discovery fetches: ${fetched.discovery}; over both rounds of the one handler` })
  emit({ bench: 'load', metric: 'rss_before_mib', value: ms(before.rss / MiB, 1), unit: 'MiB' })
  emit({ bench: 'load', metric: 'rss_after_mib', value: ms(after.rss / MiB, 1), unit: 'MiB' })
  emit({ bench: 'load', metric: 'rss_growth_mib', value: ms((after.rss - before.rss) / MiB, 1), unit: 'MiB',
    note: `heap ${ms(before.heap / MiB, 1)} -> ${ms(after.heap / MiB, 1)} MiB; this process only (the handler; dynalite keeps the records in its own)` })
  emit({ bench: 'load', metric: 'rss_growth_second_round_mib', value: ms((after2.rss - after.rss) / MiB, 1), unit: 'MiB',
    note: `a second round of ${ISSUANCES} (throughput ${ms(ISSUANCES / r2.seconds, 1)}/s): ` +
      `heap ${ms(after.heap / MiB, 1)} -> ${ms(after2.heap / MiB, 1)} MiB` })
  emit({ bench: 'load', metric: 'heap_growth_second_round_mib', value: ms((after2.heap - after.heap) / MiB, 2), unit: 'MiB',
    note: `vs ${ms((after3.heap - after2.heap) / MiB, 2)} MiB for ${ISSUANCES} floor issuances (the same I/O, records and publish, no broker): ` +
      'what the SDK and sockets keep (±0.5 MiB run to run)' })
  emit({ bench: 'load', metric: 'heap_growth_broker_code_mib', value: ms((afterAlone.heap - beforeAlone.heap) / MiB, 2), unit: 'MiB', target: 1,
    note: `over ${10 * ISSUANCES} more issuances through the handler with in-memory DynamoDB and STS (_in-memory.ts): what the broker's own code keeps` })
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
