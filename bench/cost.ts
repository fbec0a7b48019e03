// What an issuance costs, per million, at AWS's published us-east-1 prices (_prices.ts), computed from what this bench
// measures on the real request path, so it can be re-run after any change:
// - the credentials Lambda (the POST handler, wired as the Lambda is, on the AWS path: its event one signed SNS
//   Publish) and the event Lambda (its real module, given each event as SNS delivers it), warm in this process and
//   cold in fresh ones, against the local world in processes of their own (_world.ts);
// - round trips, as dynalite, the STS and the SNS sink received them;
// - the items written (the audit record, as put and as the event leaves it) and their index entries, read back and
//   sized by DynamoDB's rules (_item-size.ts), under app.arc's projection and under ALL and KEYS_ONLY beside it;
// - every line both Lambdas print, as Lambda's text log format puts them in CloudWatch (_lambda-logs.ts);
// - each Lambda's wall and CPU time; its memory and architecture as Architect deploys them (app.arc and defaults).
// The arithmetic is _cost-model.ts's.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { isDeepStrictEqual, promisify } from 'node:util'
import { CreateTableCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, BatchGetItemCommandInput, BatchGetItemCommandOutput, QueryCommandInput } from '@aws-sdk/client-dynamodb'
import type { STSClient } from '@aws-sdk/client-sts'
import type { InitializeMiddleware } from '@smithy/types'
import { createAuditStore } from '../src/broker/audit'
import type { IssuedEvent } from '../src/broker/exchange'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import { recordIssuedEvent } from '../src/broker/issued-log'
import { LOCAL_BROKER_PRINCIPAL } from '../src/local/stack'
import { tableInputs } from '../test/helpers/tables'
import { bundleLambda } from './_bundle'
import type { Bundle } from './_bundle'
import { lineItems, modelledMs, total } from './_cost-model'
import type { IssuanceUse, LambdaUse } from './_cost-model'
import { emit, median, ms } from './_figures'
import { itemSize, readUnits, storedBytes, writeUnits } from './_item-size'
import { captureConsole, ingestedBytes, logEvents } from './_lambda-logs'
import type { Printed } from './_lambda-logs'
import { PRICES, PRICES_READ_ON, REGION } from './_prices'
import { ROLE, TABLES, postEvent, projectMapping, storeIssuerKeys } from './_local'
import { startWorldProcesses } from './_world'
import type { RemoteWorld, WorldStats } from './_world'

const run = promisify(execFile)
const ISSUANCES = Number(process.env.BENCH_COST_ISSUANCES || 40)
const COLD = Number(process.env.BENCH_COST_COLD || 7)
/**
 * Round-trip times in the region, for the Lambda-duration model: assumed, not measured (no AWS account here). Set
 * BENCH_COST_LATENCY_MS (JSON) from your own REPORT lines or traces.
 */
const LATENCY_MS: Record<string, number> = JSON.parse(process.env.BENCH_COST_LATENCY_MS || '{"DynamoDB":5,"STS":25,"SNS":15}')
/** The outside estimate issue 15 compares with. */
const OUTSIDE = { total: 6.5, dynamoWrites: 2.5, logs: 1.05 }
const LIMITED_ROLE = 'deploy-limited'
const RETENTION_DAYS = 400
type Item = Record<string, AttributeValue>
type Key = { readonly pk: string; readonly sk: string }

/** Each Lambda's memory and architecture, and the audit index's projection, as Architect reads app.arc (its defaults included). */
interface Deployed { readonly credentials: LambdaSettings; readonly events: LambdaSettings; readonly projection: string }
interface LambdaSettings { readonly memoryMb: number; readonly architecture: 'arm64' | 'x86_64' }
interface Inventory {
  inv: {
    http: Array<{ name: string; config: { memory: number; architecture: 'arm64' | 'x86_64' } }>
    events: Array<{ name: string; config: { memory: number; architecture: 'arm64' | 'x86_64' } }>
    'tables-indexes': Array<{ name: string; indexName: string; projectionType: string; projectionAttributes: string[] | null }>
  }
}
async function deployed (): Promise<Deployed> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inventory = require('@architect/inventory') as (o: { cwd: string }) => Promise<Inventory>
  const { inv } = await inventory({ cwd: join(__dirname, '..') })
  const settings = (config: { memory: number; architecture: 'arm64' | 'x86_64' }) => ({ memoryMb: config.memory, architecture: config.architecture })
  const index = inv['tables-indexes'].find(i => i.name === 'audit' && i.indexName === 'byProject')
  return {
    credentials: settings(inv.http.find(r => r.name === 'post /credentials')?.config ?? { memory: NaN, architecture: 'arm64' }),
    events: settings(inv.events.find(r => r.name === 'credentials-issued')?.config ?? { memory: NaN, architecture: 'arm64' }),
    projection: index ? [index.projectionType, ...(index.projectionAttributes ?? [])].join(' ') : 'none',
  }
}

/** The handler's DynamoDB requests with what they were answered (BatchGetItem's items, a maxUses Query's input). */
class Requests {
  readonly list: Array<{ command: string; input: object; output: object }> = []
  instrument = (client: DynamoDBClient | STSClient): void => {
    if (client instanceof DynamoDBClient) client.middlewareStack.add(this.capture(), { step: 'initialize', name: 'benchCost' })
  }

  private capture<I extends object, O extends object> (): InitializeMiddleware<I, O> {
    return (next, context) => async args => {
      const result = await next(args)
      this.list.push({ command: String(context.commandName).replace(/Command$/, ''), input: args.input, output: result.output })
      return result
    }
  }
}

const diff = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v !== 0)) as Record<string, number>
const cpuSince = (c0: NodeJS.CpuUsage) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000 }
const snsEvent = (message: string) => ({
  Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', Sns: { Type: 'Notification', MessageId: randomUUID(), TopicArn: 'bench', Message: message,
    MessageAttributes: {} } }],
})

/** One issuance's writes: the record as put and as the event left it, and its index entry each time (none: not indexed). */
interface Written { readonly put: Item; readonly updated: Item; readonly entryPut?: Item; readonly entryUpdated?: Item }

/** Write units by DynamoDB's rules: a put its size, an update the larger of before and after, an index write only where the entry changed. */
function writesOf (w: Written): Array<[string, number]> {
  const changed = !isDeepStrictEqual(w.entryPut, w.entryUpdated)
  return [
    ['audit put', writeUnits(itemSize(w.put))],
    ['its index entry', w.entryPut ? writeUnits(itemSize(w.entryPut)) : 0],
    ['event update', writeUnits(Math.max(itemSize(w.put), itemSize(w.updated)))],
    ['its index entry', changed ? writeUnits(Math.max(w.entryPut ? itemSize(w.entryPut) : 0, w.entryUpdated ? itemSize(w.entryUpdated) : 0)) : 0],
  ]
}

async function readBack (db: DynamoDBClient, table: string, event: Pick<IssuedEvent, 'pk' | 'sk' | 'project' | 'at'>): Promise<{ item: Item; entry?: Item }> {
  const key = { pk: { S: event.pk }, sk: { S: event.sk } }
  const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))
  if (!Item) throw new Error(`no audit item ${event.pk} ${event.sk} in ${table}`)
  // The index entry as DynamoDB keeps it: what a Query of the index returns for the item (its projected attributes).
  const { Items } = await db.send(new QueryCommand({
    TableName: table, IndexName: 'byProject', KeyConditionExpression: '#p = :p AND #at = :at',
    ExpressionAttributeNames: { '#p': 'project', '#at': 'at' }, ExpressionAttributeValues: { ':p': { S: event.project }, ':at': { S: event.at } },
  }))
  return { item: Item, entry: Items?.find(i => i.pk?.S === event.pk && i.sk?.S === event.sk) }
}

/** Read units of the handler's requests: each BatchGetItem key a GetItem of its own; a Query the items it reads (at least 1 unit). */
async function readsOf (db: DynamoDBClient, requests: Requests['list'], own: Key): Promise<Array<[string, number]>> {
  const reads: Array<[string, number]> = []
  for (const r of requests) {
    if (r.command === 'BatchGetItem') {
      const input = r.input as BatchGetItemCommandInput
      const output = r.output as BatchGetItemCommandOutput
      for (const [table, asked] of Object.entries(input.RequestItems ?? {})) {
        const found = output.Responses?.[table] ?? []
        const consistent = asked.ConsistentRead === true
        const units = found.reduce((n, i) => n + readUnits(itemSize(i), consistent), 0) + ((asked.Keys?.length ?? 0) - found.length) * readUnits(undefined,
          consistent)
        reads.push([`${table === TABLES.mappings ? 'mappings' : table === TABLES.issuerKeys ? 'issuer keys' : table} (${asked.Keys?.length} keys, ` +
          `${found.length} found)`, units])
      }
    }
    if (r.command === 'Query') {
      // The same key condition read again for the items (the broker asks for their COUNT), less the item this issuance put.
      const { Select: _, ...input } = r.input as QueryCommandInput
      const { Items = [] } = await db.send(new QueryCommand(input))
      const bytes = Items.filter(i => !(i.pk?.S === own.pk && i.sk?.S === own.sk)).reduce((n, i) => n + itemSize(i), 0)
      reads.push([`maxUses count (${Items.length - 1} earlier uses)`, Math.max(1, Math.ceil(bytes / 4096)) * (input.ConsistentRead ? 1 : 0.5)])
    }
  }
  return reads
}

interface Sample {
  readonly event: IssuedEvent
  readonly message: string
  readonly credentials: { ms: number; cpuMs: number; printed: Printed[]; trips: Record<string, number> }
  readonly events: { ms: number; cpuMs: number; printed: Printed[]; trips: Record<string, number> }
  readonly reads: Array<[string, number]>
  readonly written: Written
}

/** Round trips by service between two readings of the world's counters. */
function tripsBetween (a: WorldStats, b: WorldStats): Record<string, number> {
  const dynamo = diff(a.dynamodb, b.dynamodb)
  return {
    ...Object.fromEntries(Object.entries(dynamo).map(([op, n]) => [`DynamoDB.${op}`, n])),
    DynamoDB: Object.values(dynamo).reduce((n, v) => n + v, 0),
    STS: b.sts.AssumeRole - a.sts.AssumeRole,
    SNS: b.events.sns - a.events.sns,
    Issuer: b.issuer.discovery + b.issuer.jwks - a.issuer.discovery - a.issuer.jwks,
  }
}

async function main (): Promise<void> {
  const settings = await deployed()
  const world = await startWorldProcesses()
  await world.putMapping(projectMapping(world.issuerUrl))
  await world.putMapping(projectMapping(world.issuerUrl, { role: LIMITED_ROLE, maxUses: 5 }))
  // Keys in the table, as `issuers keys push` or an earlier container left them: a cold container asks the issuer nothing.
  await storeIssuerKeys(world.db, world.issuerUrl, world.publicJwk)
  const env = world.awsEnv
  // The event Lambda's module reads its configuration from the environment when it loads, as in AWS.
  Object.assign(process.env, env)
  const eventLambda = await import('../src/events/credentials-issued/index') as { handler (event: unknown): Promise<unknown> }
  const requests = new Requests()
  const handler = createCredentialsHandler('POST', metrics => composeBroker(env, { metrics, instrument: requests.instrument }).exchange)

  async function issue (role: string): Promise<Sample> {
    const [token] = await world.mint([{ jti: randomUUID() }])
    requests.list.length = 0
    const s0 = await world.stats()
    let captured = captureConsole()
    let c0 = process.cpuUsage()
    let t0 = performance.now()
    const answer = await handler(postEvent(token, `role=${role}`, randomUUID()))
    const credentials = { ms: performance.now() - t0, cpuMs: cpuSince(c0), printed: captured.stop(), trips: {} }
    if (answer.statusCode !== 200) throw new Error(`the issuance failed: ${answer.body}`)
    const s1 = await world.stats()
    if (s1.events.sns !== s0.events.sns + 1 || !s1.events.lastSnsMessage) throw new Error('the issuance published no event')
    const message = s1.events.lastSnsMessage
    const event = JSON.parse(message) as IssuedEvent
    const put = await readBack(world.db, TABLES.audit, event)
    const reads = await readsOf(world.db, requests.list, event)
    const s2 = await world.stats()
    captured = captureConsole()
    c0 = process.cpuUsage()
    t0 = performance.now()
    await eventLambda.handler(snsEvent(message))
    const events = { ms: performance.now() - t0, cpuMs: cpuSince(c0), printed: captured.stop(), trips: {} }
    const s3 = await world.stats()
    const updated = await readBack(world.db, TABLES.audit, event)
    return {
      event, message, reads,
      credentials: { ...credentials, trips: tripsBetween(s0, s1) },
      events: { ...events, trips: tripsBetween(s2, s3) },
      written: { put: put.item, updated: updated.item, entryPut: put.entry, entryUpdated: updated.entry },
    }
  }

  // A fresh handler's first issuance is a cold container's: it reads the issuer's keys with the mappings.
  const first = await issue(ROLE)
  const warm: Sample[] = []
  const limited: Sample[] = []
  for (let i = 0; i < ISSUANCES; i++) {
    warm.push(await issue(ROLE))
    if (i % 4 === 0) limited.push(await issue(LIMITED_ROLE))
  }

  // The index under each projection, beside app.arc's: the same handler and event writes, into tables that differ only there.
  const projections = new Map<string, Array<Array<[string, number]>>>()
  const entryBytes = new Map<string, number>()
  for (const projection of ['ALL', 'KEYS_ONLY'] as const) {
    const table = `${TABLES.audit}-${projection.toLowerCase()}`
    const schema = (await tableInputs(TABLES)).find(t => t.TableName === TABLES.audit)
    if (!schema) throw new Error('no audit table in app.arc')
    await world.db.send(new CreateTableCommand({ ...schema, TableName: table,
      GlobalSecondaryIndexes: schema.GlobalSecondaryIndexes?.map(g => ({ ...g, Projection: { ProjectionType: projection } })) }))
    let published: IssuedEvent | undefined
    const variant = createCredentialsHandler('POST',
      metrics => composeBroker({ ...env, BROKER_TABLE_AUDIT: table }, { metrics, publish: async e => { published = e } }).exchange)
    const store = createAuditStore(world.db, table)
    for (let i = 0; i < 5; i++) {
      const [token] = await world.mint([{ jti: randomUUID() }])
      const muted = captureConsole()
      await variant(postEvent(token, `role=${ROLE}`, randomUUID()))
      const event = JSON.parse(JSON.stringify(published)) as IssuedEvent
      const put = await readBack(world.db, table, event)
      await recordIssuedEvent(event, store, () => {})
      muted.stop()
      const updated = await readBack(world.db, table, event)
      projections.set(projection, [...projections.get(projection) ?? [],
        writesOf({ put: put.item, updated: updated.item, entryPut: put.entry, entryUpdated: updated.entry })])
      entryBytes.set(projection, itemSize(updated.entry ?? {}))
    }
  }

  const cold = await coldStarts(world, env)
  report(settings, first, warm, limited, projections, entryBytes, cold, await keysItemBytes(world))
  await world.stop()
}

async function keysItemBytes (world: RemoteWorld): Promise<number> {
  const { Item } = await world.db.send(new GetItemCommand({ TableName: TABLES.issuerKeys, Key: { issuer: { S: world.issuerUrl } }, ConsistentRead: true }))
  return itemSize(Item ?? {})
}

interface Cold { readonly initMs: number; readonly invokeMs: number; readonly cpuMs: number; readonly printed: Printed[] }

/** Fresh processes, each loading a Lambda's production bundle and serving one request: the credentials Lambda, then the event Lambda with its event. */
async function coldStarts (world: RemoteWorld, env: Record<string, string>): Promise<{ credentials: Cold[]; events: Cold[] }> {
  const bundles = { credentials: await bundleLambda('http/post-credentials'), events: await bundleLambda('events/credentials-issued') }
  const childEnv = {
    ...env, PATH: process.env.PATH ?? '', AWS_ACCESS_KEY_ID: LOCAL_BROKER_PRINCIPAL.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_BROKER_PRINCIPAL.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  }
  const once = async (b: Bundle, event: unknown): Promise<Cold> => {
    const { stdout, stderr } = await run(process.execPath, [join(__dirname, '_cold-child.js'), b.file],
      { env: { ...childEnv, BENCH_EVENTS: JSON.stringify([event]) }, maxBuffer: 1 << 24 })
    const lines = stdout.split('\n')
    const result = lines.find(l => l.startsWith('BENCH_RESULT '))
    if (!result) throw new Error(`no result from ${b.name}: ${stdout.slice(-500)} ${stderr.slice(-500)}`)
    type Result = { load: number; bootMs: number; cpuMs: number; invokes: Array<{ ms: number; status?: number }> }
    const r = JSON.parse(result.slice('BENCH_RESULT '.length)) as Result
    const printed: Printed[] = [
      ...lines.filter(l => l.trim() !== '' && !l.startsWith('BENCH_RESULT ')).map(text => ({ level: 'INFO' as const, text })),
      ...stderr.split('\n').filter(l => l.trim() !== '').map(text => ({ level: 'ERROR' as const, text })),
    ]
    return { initMs: r.bootMs + r.load, invokeMs: r.invokes[0]?.ms ?? NaN, cpuMs: r.cpuMs, printed }
  }
  const credentials: Cold[] = []
  const events: Cold[] = []
  for (let i = 0; i < COLD; i++) {
    const [token] = await world.mint([{ jti: randomUUID() }])
    const before = await world.stats()
    credentials.push(await once(bundles.credentials, postEvent(token, `role=${ROLE}`, randomUUID())))
    const after = await world.stats()
    if (after.events.sns !== before.events.sns + 1 || !after.events.lastSnsMessage) throw new Error('a cold issuance published no event')
    events.push(await once(bundles.events, snsEvent(after.events.lastSnsMessage)))
  }
  return { credentials, events }
}

function report (settings: Deployed, first: Sample, warm: Sample[], limited: Sample[], projections: Map<string, Array<Array<[string, number]>>>,
  entryBytes: Map<string, number>, cold: { credentials: Cold[]; events: Cold[] }, keysBytes: number): void {
  const bench = 'cost'
  const med = (xs: number[]) => median(xs)
  const trips = (samples: Sample[], side: 'credentials' | 'events') => {
    const keys = [...new Set(samples.flatMap(s => Object.keys(s[side].trips)))]
    return Object.fromEntries(keys.map(k => [k, med(samples.map(s => s[side].trips[k] ?? 0))]))
  }
  const credTrips = trips(warm, 'credentials')
  const eventTrips = trips(warm, 'events')
  const text = (t: Record<string, number>) => Object.entries(t).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')
  const memory = process.memoryUsage().rss / 2 ** 20
  const logBytes = (printed: Printed[], durationMs: number, memoryMb: number, initMs?: number) =>
    ingestedBytes(logEvents({ requestId: randomUUID(), printed, durationMs, memoryMb, maxMemoryUsedMb: memory, ...(initMs !== undefined && { initMs }) }))
  const lineBytes = (printed: Printed[]) => printed.map(p => Buffer.byteLength(p.text)).join(' + ')

  // What was measured.
  emit({ bench, subject: 'deployed', metric: 'lambda_settings',
    value: `credentials ${settings.credentials.memoryMb} MB ${settings.credentials.architecture}, ` +
      `events ${settings.events.memoryMb} MB ${settings.events.architecture}`,
    note: 'as Architect deploys app.arc (@aws memory; architecture: app.arc sets none, Architect\'s default)' })
  emit({ bench, subject: 'credentials Lambda', metric: 'round_trips', value: text(credTrips),
    note: `warm, no maxUses, median of ${warm.length}; a container's first issuance: ${text(first.credentials.trips)}; maxUses 5: ` +
      `${text(trips(limited, 'credentials'))}` })
  emit({ bench, subject: 'event Lambda', metric: 'round_trips', value: text(eventTrips) })
  const w = warm[warm.length - 1].written
  emit({ bench, subject: 'audit record', metric: 'item_bytes_as_put', value: itemSize(w.put), unit: 'B',
    note: `${Object.keys(w.put).length} attributes, by DynamoDB's item-size rules; stored ${storedBytes(itemSize(w.put))} B with the 100-byte overhead` })
  emit({ bench, subject: 'audit record', metric: 'item_bytes_after_event', value: itemSize(w.updated), unit: 'B',
    note: 'with the AccessKeyId, expiration and assumed-role ARN the event Lambda adds' })
  emit({ bench, subject: 'audit record', metric: 'index_entry_bytes', value: itemSize(w.entryUpdated ?? {}), unit: 'B',
    note: `byProject as app.arc declares it (${settings.projection}); ALL ${entryBytes.get('ALL')} B, KEYS_ONLY ${entryBytes.get('KEYS_ONLY')} B; ` +
      `the event's update changes the entry: ${!isDeepStrictEqual(w.entryPut, w.entryUpdated)}` })
  // Storage: each issuance's item and index entry, kept for the audit retention (400 days by default).
  const months = RETENTION_DAYS / (365.25 / 12)
  const stored = (entry: number | undefined) => storedBytes(itemSize(w.updated)) + (entry !== undefined ? storedBytes(entry) : 0)
  const own: [string, number | undefined] = [`app.arc (${settings.projection})`, w.entryUpdated ? itemSize(w.entryUpdated) : undefined]
  const entries: Array<[string, number | undefined]> = [own, ...entryBytes]
  for (const [projection, entry] of entries) {
    emit({ bench, subject: `audit storage, byProject ${projection}`, metric: 'gb_months_per_million_issuances',
      value: ms(stored(entry) * 1e6 / 1e9 * months, 2), unit: 'GB-month',
      note: `${stored(entry)} B stored per issuance (item and index entry, 100 B overhead each) for ${RETENTION_DAYS} days (BROKER_AUDIT_RETENTION_DAYS' ` +
        `default). Storage is billed per GB-month, a price not in the list read on ${PRICES_READ_ON}` })
  }
  emit({ bench, subject: 'event', metric: 'sns_message_bytes', value: Buffer.byteLength(warm[0].message), unit: 'B', note: 'one SNS request up to 64 KB' })
  emit({ bench, subject: 'issuer keys', metric: 'item_bytes', value: keysBytes, unit: 'B',
    note: 'read with the mappings on a container\'s first issuance (and once a minute)' })

  const credMs = med(warm.map(s => s.credentials.ms))
  const credCpu = med(warm.map(s => s.credentials.cpuMs))
  const eventMs = med(warm.map(s => s.events.ms))
  const eventCpu = med(warm.map(s => s.events.cpuMs))
  const coldCred = { init: med(cold.credentials.map(c => c.initMs)), invoke: med(cold.credentials.map(c => c.invokeMs)),
    cpu: med(cold.credentials.map(c => c.cpuMs)) }
  const coldEvent = { init: med(cold.events.map(c => c.initMs)), invoke: med(cold.events.map(c => c.invokeMs)), cpu: med(cold.events.map(c => c.cpuMs)) }
  const services = (t: Record<string, number>) => ({ DynamoDB: t.DynamoDB ?? 0, STS: t.STS ?? 0, SNS: t.SNS ?? 0 })
  const model = {
    credWarm: modelledMs(credCpu, settings.credentials.memoryMb, services(credTrips), LATENCY_MS),
    eventWarm: modelledMs(eventCpu, settings.events.memoryMb, services(eventTrips), LATENCY_MS),
    credCold: modelledMs(coldCred.cpu, settings.credentials.memoryMb, services(first.credentials.trips), LATENCY_MS),
    eventCold: modelledMs(coldEvent.cpu, settings.events.memoryMb, services(eventTrips), LATENCY_MS),
  }
  const modelNote = `CPU x ${ms(1769 / settings.credentials.memoryMb, 2)} (Lambda's CPU share at ${settings.credentials.memoryMb} MB: 1 vCPU at 1,769 MB) ` +
    `+ round trips x assumed in-region latency ${JSON.stringify(LATENCY_MS)} ms`
  emit({ bench, subject: 'credentials Lambda', metric: 'warm_ms', value: ms(credMs, 2), unit: 'ms',
    note: `wall time here, loopback round trips, median; CPU ${ms(credCpu, 2)} ms` })
  emit({ bench, subject: 'credentials Lambda', metric: 'billed_ms_modelled', value: model.credWarm, unit: 'ms', note: modelNote })
  emit({ bench, subject: 'event Lambda', metric: 'warm_ms', value: ms(eventMs, 2), unit: 'ms', note: `CPU ${ms(eventCpu, 2)} ms` })
  emit({ bench, subject: 'event Lambda', metric: 'billed_ms_modelled', value: model.eventWarm, unit: 'ms' })
  emit({ bench, subject: 'credentials Lambda', metric: 'cold_ms', value: ms(coldCred.init + coldCred.invoke, 1), unit: 'ms',
    note: `${cold.credentials.length} fresh processes: init (boot + load) ${ms(coldCred.init, 1)} + first issuance ${ms(coldCred.invoke, 1)} ms; ` +
      `process CPU ${ms(coldCred.cpu, 1)} ms; modelled in AWS ${model.credCold} ms (init billed since August 2025)` })
  emit({ bench, subject: 'event Lambda', metric: 'cold_ms', value: ms(coldEvent.init + coldEvent.invoke, 1), unit: 'ms',
    note: `init ${ms(coldEvent.init, 1)} + first event ${ms(coldEvent.invoke, 1)} ms; process CPU ${ms(coldEvent.cpu, 1)} ms; ` +
      `modelled in AWS ${model.eventCold} ms` })

  const logs = {
    credWarm: logBytes(warm[0].credentials.printed, model.credWarm, settings.credentials.memoryMb),
    eventWarm: logBytes(warm[0].events.printed, model.eventWarm, settings.events.memoryMb),
    credCold: logBytes(cold.credentials[0].printed, model.credCold, settings.credentials.memoryMb, coldCred.init),
    eventCold: logBytes(cold.events[0].printed, model.eventCold, settings.events.memoryMb, coldEvent.init),
  }
  emit({ bench, subject: 'credentials Lambda', metric: 'log_bytes_per_issuance', value: logs.credWarm, unit: 'B',
    note: 'lines it prints: ' +
      `${lineBytes(warm[0].credentials.printed)} B ` +
        `(${warm[0].credentials.printed.map(p => JSON.parse(p.text).msg ?? (p.text.startsWith('{"_aws"') ? 'EMF' : '?')).join(', ')}), ` +
          `each with Lambda's timestamp, request id and level, and START, END and REPORT; 26 B per log event. Cold: ${logs.credCold} B` })
  emit({ bench, subject: 'event Lambda', metric: 'log_bytes_per_issuance', value: logs.eventWarm, unit: 'B',
    note: `lines it prints: ${lineBytes(warm[0].events.printed)} B; cold: ${logs.eventCold} B` })

  // What it costs: per scenario, each line item and the total.
  const lambdas = (credMsBilled: number, eventMsBilled: number, credLog: number, eventLog: number, arch?: 'x86_64'): LambdaUse[] => [
    { name: 'credentials', ...settings.credentials, ...(arch && { architecture: arch }), billedMs: credMsBilled, logBytes: credLog },
    { name: 'event', ...settings.events, ...(arch && { architecture: arch }), billedMs: eventMsBilled, logBytes: eventLog },
  ]
  const writes = (samples: Sample[]) => writesOf(samples[samples.length - 1].written)
  const base = { apiRequests: 1, snsPublishes: credTrips.SNS, stsCalls: credTrips.STS }
  const warmUse: IssuanceUse = { ...base, lambdas: lambdas(model.credWarm, model.eventWarm, logs.credWarm, logs.eventWarm), reads: warm[warm.length - 1].reads,
    writes: writes(warm) }
  const scenarios: Array<[string, IssuanceUse, string]> = [
    ['warm containers', warmUse, `no maxUses; Lambda ms modelled (${modelNote})`],
    ['warm containers, maxUses 5', { ...warmUse, reads: limited[limited.length - 1].reads, writes: writes(limited) },
      'a token\'s first use: one consistent Query counts the uses before the put'],
    ['every issuance meets cold containers', {
      ...base, lambdas: lambdas(model.credCold, model.eventCold, logs.credCold, logs.eventCold), reads: first.reads, writes: writes(warm),
    }, 'both Lambdas start for the issuance (init billed); the keys item read with the mappings'],
    ['warm containers, Lambda ms as measured here', { ...warmUse, lambdas: lambdas(Math.ceil(credMs), Math.ceil(eventMs), logs.credWarm, logs.eventWarm) },
      'loopback round trips and a whole 2.1 GHz core: a lower bound for the duration lines'],
    ['warm containers, x86_64', { ...warmUse, lambdas: lambdas(model.credWarm, model.eventWarm, logs.credWarm, logs.eventWarm, 'x86_64') },
      'the same, priced for x86_64'],
    ...[...projections].map(([projection, perIssuance]): [string, IssuanceUse, string] =>
      [`warm containers, byProject projection ${projection}`, { ...warmUse, writes: perIssuance[perIssuance.length - 1] },
        'the same issuance written to a table whose index projects so']),
  ]
  for (const [subject, use, note] of scenarios) {
    const items = lineItems(use)
    for (const i of items) {
      emit({ bench, subject, metric: 'line_item', item: i.item, count: Number(i.count.toPrecision(6)), count_unit: i.countUnit, price_usd: i.price.usd,
        price_per: `${i.price.per} ${i.price.unit}`,
        value: ms(i.usdPerMillion, 4), unit: 'USD per million issuances' })
    }
    emit({ bench, subject, metric: 'usd_per_million_issuances', value: ms(total(items), 3), unit: 'USD',
      note: `${note}; ${REGION} prices read on ${PRICES_READ_ON}` })
  }
  const warmItems = lineItems(warmUse)
  const byName = (prefix: string) => warmItems.filter(i => i.item.startsWith(prefix)).reduce((n, i) => n + i.usdPerMillion, 0)
  emit({ bench, subject: 'warm containers', metric: 'vs_outside_estimate', value: ms(total(warmItems) - OUTSIDE.total, 3), unit: 'USD per million',
    note: `outside estimate ~$${OUTSIDE.total}: DynamoDB writes $${OUTSIDE.dynamoWrites} (4 units) ` +
      `here $${ms(byName('DynamoDB writes'), 3)} (${warmItems.find(i => i.item.startsWith('DynamoDB writes'))?.count} units); ` +
        `logs $${OUTSIDE.logs} here $${ms(byName('CloudWatch'), 3)}` })
  emit({ bench, subject: 'prices', metric: 'read_on', value: PRICES_READ_ON, note: Object.values(PRICES).map(p => `${p.unit} $${p.usd}/${p.per}`).join('; ') })
}

main().catch(err => { console.error(err); process.exit(1) })
