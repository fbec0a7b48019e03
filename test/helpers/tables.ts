// dynalite (sandbox's own DynamoDB engine) started directly, with the app's two tables as app.arc declares them (read
// with Architect's parser), under any names: sandbox's (`<app>-staging-mappings`) or a deployed stack's physical ones.
// For the benchmarks' local world and for tests that run without sandbox (the CLI's deployed target).
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { CreateTableCommandInput, Projection } from '@aws-sdk/client-dynamodb'
import { readArc } from '../../src/cli/app-arc'
import type { Arc } from '../../src/cli/app-arc'

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
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

const THROUGHPUT = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }
/** A key as app.arc writes it: `*String` the partition key, `**String` the sort key (String or Number). */
const KEY = /^(\*\*?)(String|Number)$/

/** A pragma's named blocks (`mappings` with its columns): Architect's parser gives each as `{ name: { column: spec } }`. */
function blocks (arc: Arc, pragma: string): Array<[string, Record<string, unknown>]> {
  return (arc[pragma] ?? []).flatMap(row => typeof row === 'object' && !Array.isArray(row) ? Object.entries(row) as Array<[string, Record<string, unknown>]> : [])
}

/** The key columns of a table or index block, partition key first; TTL and other settings are not keys. */
function keysOf (block: Record<string, unknown>): Array<{ name: string; keyType: 'HASH' | 'RANGE'; type: 'S' | 'N' }> {
  return Object.entries(block).flatMap(([name, spec]) => {
    const key = typeof spec === 'string' ? KEY.exec(spec) : null
    return key ? [{ name, keyType: key[1] === '*' ? 'HASH' as const : 'RANGE' as const, type: key[2] === 'String' ? 'S' as const : 'N' as const }] : []
  }).sort((a, b) => a.keyType.localeCompare(b.keyType))
}

/**
 * An index's projection as app.arc's `projection` line says it (Architect's rule: `all`, the default; `keys`; or the
 * attribute names to include), as DynamoDB's CreateTable and CloudFormation take it.
 */
export function projectionOf (block: Record<string, unknown>): Projection {
  const value = block.projection
  if (value === undefined || (typeof value === 'string' && value.toLowerCase() === 'all')) return { ProjectionType: 'ALL' }
  if (typeof value === 'string' && value.toLowerCase() === 'keys') return { ProjectionType: 'KEYS_ONLY' }
  return { ProjectionType: 'INCLUDE', NonKeyAttributes: (Array.isArray(value) ? value : [value]).map(String) }
}

/** app.arc's `@tables` and `@tables-indexes` as CreateTable inputs, each table under the name `names` gives it. */
export function tableSchemas (names: TableNames, cwd = join(__dirname, '..', '..')): CreateTableCommandInput[] {
  const arc = readArc(cwd)
  if (!arc) throw new Error(`no app.arc in ${cwd}`)
  const tables = new Map(blocks(arc, 'tables'))
  const indexes = blocks(arc, 'tables-indexes')
  return Object.entries(names).map(([key, TableName]) => {
    // TableNames' keys are app.arc's names in camelCase (issuerKeys: issuer-keys), as config.ts names them.
    const logical = key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
    const table = tables.get(logical)
    if (!table) throw new Error(`app.arc declares no table "${logical}"`)
    const ownIndexes = indexes.filter(([name]) => name === logical).map(([, block]) => block)
    const keys = [table, ...ownIndexes].flatMap(keysOf)
    return {
      TableName,
      AttributeDefinitions: [...new Map(keys.map(k => [k.name, { AttributeName: k.name, AttributeType: k.type }])).values()],
      KeySchema: keysOf(table).map(k => ({ AttributeName: k.name, KeyType: k.keyType })),
      ProvisionedThroughput: THROUGHPUT,
      ...(ownIndexes.length > 0 && {
        GlobalSecondaryIndexes: ownIndexes.map(block => ({
          IndexName: String(block.name), // named in app.arc: the broker queries its index by name
          KeySchema: keysOf(block).map(k => ({ AttributeName: k.name, KeyType: k.keyType })),
          Projection: projectionOf(block),
          ProvisionedThroughput: THROUGHPUT,
        })),
      }),
    }
  })
}

/** Creates the app's tables as app.arc declares them (tableSchemas), under the given names. */
export async function createTables (db: DynamoDBClient, names: TableNames): Promise<void> {
  for (const input of tableSchemas(names)) await db.send(new CreateTableCommand(input))
}

/** dynalite on loopback (port 0: any free one) with the tables created. */
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
