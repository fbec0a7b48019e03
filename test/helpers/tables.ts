// dynalite (sandbox's own DynamoDB engine) started directly, with the app's tables as app.arc declares them (read by
// Architect's inventory), under any names: sandbox's (`<app>-staging-mappings`) or a deployed stack's physical ones. For
// the benchmarks' local world and for tests that run without sandbox (the CLI's deployed target).
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { CreateTableCommandInput, Projection } from '@aws-sdk/client-dynamodb'
import { appArc, keyNames, tableKey } from './app-arc'
import type { ArcIndex, ArcTable } from './app-arc'

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- dynalite ships no types
const dynalite: (o: { createTableMs: number }) => Server = require('dynalite')

export interface TableNames { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }

export interface LocalTables {
  readonly endpoint: string
  /** A client for seeding and reading back (the local broker's credentials; dynalite checks none). */
  readonly db: DynamoDBClient
  /** Requests received, by operation (`PutItem`, `BatchGetItem`, ...): every client's, whatever process sent them. */
  readonly requests: Readonly<Record<string, number>>
  stop (): Promise<void>
}

/** An index's projection as Architect reads app.arc's `projection` line (`all`, the default; `keys`; or attribute names). */
function projectionOf (index: ArcIndex): Projection {
  if (index.projectionType === 'INCLUDE') return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projectionAttributes ?? []] }
  return { ProjectionType: index.projectionType ?? 'ALL' }
}

/** A table of app.arc, with its indexes, as a CreateTable input under the given name. */
function createTableInput (table: ArcTable, indexes: readonly ArcIndex[], TableName: string): CreateTableCommandInput {
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }
  const keySchema = (t: ArcTable) => keyNames(t).map((AttributeName, i) => ({ AttributeName, KeyType: i === 0 ? 'HASH' as const : 'RANGE' as const }))
  const types = new Map([table, ...indexes].flatMap(t => [[t.partitionKey, t.partitionKeyType], [t.sortKey, t.sortKeyType]]))
  return {
    TableName,
    AttributeDefinitions: [...types].flatMap(([name, type]) =>
      name && type ? [{ AttributeName: name, AttributeType: type === 'Number' ? 'N' as const : 'S' as const }] : []),
    KeySchema: keySchema(table),
    ProvisionedThroughput: throughput,
    ...(indexes.length > 0 && {
      GlobalSecondaryIndexes: indexes.map(index => ({
        IndexName: index.indexName, KeySchema: keySchema(index), Projection: projectionOf(index), ProvisionedThroughput: throughput,
      })),
    }),
  }
}

/** app.arc's `@tables` and `@tables-indexes` as CreateTable inputs, each table under the name `names` gives it. */
export async function tableInputs (names: TableNames): Promise<CreateTableCommandInput[]> {
  const arc = await appArc()
  return arc.tables.map(table => {
    const name = names[tableKey(table.name) as keyof TableNames]
    if (name === undefined) throw new Error(`app.arc declares a table "${table.name}" that has no name here`)
    return createTableInput(table, arc.indexes.filter(i => i.name === table.name), name)
  })
}

/** app.arc's tables, each created under the name `names` gives it. */
export async function createTables (db: DynamoDBClient, names: TableNames): Promise<void> {
  for (const input of await tableInputs(names)) await db.send(new CreateTableCommand(input))
}

/** dynalite on loopback (port 0: any free one) with the two tables created. */
export async function startTables (names: TableNames, port = 0): Promise<LocalTables> {
  const server = dynalite({ createTableMs: 0 })
  const requests: Record<string, number> = {}
  server.prependListener('request', (req: IncomingMessage) => {
    // X-Amz-Target: DynamoDB_20120810.<Operation>
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'unknown'
    requests[op] = (requests[op] ?? 0) + 1
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'tanuki-local', secretAccessKey: 'tanuki-local' } })
  await createTables(db, names)
  return {
    endpoint,
    db,
    requests,
    stop: async () => {
      db.destroy()
      await new Promise(resolve => server.close(resolve))
    },
  }
}
