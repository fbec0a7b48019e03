// Figure 5, matcher scale: 10,000 mappings in the table and a project 8 group levels deep (11 candidate scopes).
// The lookup must stay one round trip; its CPU (parsing the items, candidateScopes + decide) is timed apart from the I/O.
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb'
import type { WriteRequest } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import { createDynamoClient } from '../src/broker/dynamo'
import { createMappingStore, parseItem } from '../src/broker/mappings'
import { patternMatcher } from '../src/broker/glob'
import { parseMapping } from '../src/broker/mapping'
import { decide } from '../src/broker/match'
import { candidateScopes } from '../src/broker/scope'
import { emit, median, ms, quantile, timed } from './_figures'
import { PORTS, ROLE, ROLE_ARN, RoundTrips, TABLES, startWorld } from './_local'

const MAPPINGS = 10_000
const DEPTH = 8
const RUNS = 2000

/** A realistic mapping: a few conditions, globs among them, at one scope. */
function mapping (scope: string, role: string, i: number): Record<string, unknown> {
  const kind = scope.endsWith('/**') ? 'subtree' : scope.endsWith('/*') ? 'group' : 'project'
  return {
    scope,
    role,
    roleArn: ROLE_ARN,
    pin: kind === 'project' ? { project_id: '4301877' } : kind === 'group' ? { namespace_id: '72815' } : 'none',
    conditions: { ref: ['main', 'release/*'], environment: ['production', 'staging-*'], ref_protected: 'true', pipeline_source: ['push', 'web', 'schedule'] },
    maxDuration: 3600,
    description: `mapping ${i}`,
    updatedAt: '2026-11-01T00:00:00.000Z',
    updatedBy: 'bench',
  }
}

async function main (): Promise<void> {
  const world = await startWorld()
  const iss = world.issuer.url
  const groups = Array.from({ length: DEPTH }, (_, i) => `g${i + 1}`)
  const projectPath = [...groups, 'api'].join('/')
  const candidates = candidateScopes(iss, projectPath)
  // Every candidate scope holds a mapping for the role (so the lookup returns 11 items), the rest fill the table.
  const items: Array<Record<string, unknown>> = candidates.map((scope, i) => mapping(scope, ROLE, i))
  for (let i = items.length; i < MAPPINGS; i++) {
    const depth = 1 + (i % DEPTH)
    const scope = i % 3 === 0 ? `${iss}/${groups.slice(0, depth).join('/')}/p${i}` : `${iss}/${groups.slice(0, depth).join('/')}/sub${i}/**`
    items.push(mapping(scope, i % 5 === 0 ? ROLE : `role-${i % 40}`, i))
  }
  for (const item of items) parseMapping(item) // every seeded mapping is valid
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map(Item => ({ PutRequest: { Item: marshall(Item) } }))
    let unprocessed: Record<string, WriteRequest[]> | undefined = { [TABLES.mappings]: batch }
    while (unprocessed && Object.keys(unprocessed).length > 0) {
      unprocessed = (await world.db.send(new BatchWriteItemCommand({ RequestItems: unprocessed }))).UnprocessedItems
    }
  }

  const db = createDynamoClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${PORTS.tables}` })
  const trips = new RoundTrips()
  trips.instrument(db)
  const store = createMappingStore(db, TABLES.mappings)
  const claims = { ...(await import('../src/local/default-claims')).DEFAULT_CLAIMS, iss, project_path: projectPath, namespace_path: groups.join('/'),
    iat: Math.floor(Date.now() / 1000) }
  const now = new Date()

  // I/O: the lookup as the broker makes it (BatchGetItem, and parsing what comes back).
  const io: number[] = []
  let found = await store.find(candidates, ROLE)
  trips.reset()
  for (let i = 0; i < 300; i++) io.push((await timed(() => store.find(candidates, ROLE)))[0])
  const lookups = trips.get('DynamoDB') / 300
  const decision = decide(candidates, found, claims, now)
  if (!decision.allow) throw new Error(`the matcher bench expects an allow: ${JSON.stringify(decision)}`)

  // CPU: turning the items BatchGetItem returned into mappings (parseItem, as find() does: warm, so from its cache),
  // the same without the cache (unmarshall + parseMapping), then candidateScopes + decide on what was found.
  const rawItems = [...found.values()].map(m => marshall(m, { removeUndefinedValues: true, convertClassInstanceToMap: true }))
  const parseCpu: number[] = []
  const uncachedCpu: number[] = []
  const matchCpu: number[] = []
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now()
    found = new Map(rawItems.map(item => [item.scope?.S ?? '', parseItem(item)]))
    parseCpu.push(performance.now() - t0)
    t0 = performance.now()
    for (const item of rawItems) parseMapping(unmarshall(item))
    uncachedCpu.push(performance.now() - t0)
    t0 = performance.now()
    decide(candidateScopes(iss, projectPath), found, claims, now)
    matchCpu.push(performance.now() - t0)
  }
  const note = `${MAPPINGS} mappings in the table, project ${DEPTH} groups deep (${candidates.length} candidate scopes, all holding a mapping)`
  emit({ bench: 'matcher', metric: 'lookup_round_trips', value: lookups, target: 1, note })
  emit({ bench: 'matcher', metric: 'lookup_io_p50_ms', value: ms(median(io)), unit: 'ms',
    note: `find(): BatchGetItem of ${candidates.length} keys + parsing; p99 ${ms(quantile(io, 0.99))} ms` })
  emit({ bench: 'matcher', metric: 'match_cpu_p50_ms', value: ms(median(matchCpu), 4), unit: 'ms', target: 1,
    note: `candidateScopes + decide; p99 ${ms(quantile(matchCpu, 0.99), 4)} ms` })
  emit({ bench: 'matcher', metric: 'parse_cpu_p50_ms', value: ms(median(parseCpu), 4), unit: 'ms',
    note: `parseItem of the ${rawItems.length} items found, as find() does in a warm container; p99 ${ms(quantile(parseCpu, 0.99), 4)} ms` })
  emit({ bench: 'matcher', metric: 'parse_uncached_cpu_p50_ms', value: ms(median(uncachedCpu), 4), unit: 'ms',
    note: `unmarshall + parseMapping of the same items, every time; p99 ${ms(quantile(uncachedCpu, 0.99), 4)} ms` })
  // A branch name chosen to make a backtracking matcher explode; glob.ts must match it in linear time (docs/performance.md, §5).
  const adversarial = patternMatcher('feature/*-*-*-*-*-final')
  const branch = `feature/${'-'.repeat(247)}`
  const redos: number[] = []
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    adversarial(branch)
    redos.push(performance.now() - t0)
  }
  emit({ bench: 'matcher', metric: 'adversarial_glob_p50_ms', value: ms(median(redos), 4), unit: 'ms', target: 1,
    note: `feature/*-*-*-*-*-final against a 255-character branch of dashes; p99 ${ms(quantile(redos, 0.99), 4)} ms` })
  db.destroy()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
