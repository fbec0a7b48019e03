// dynalite (sandbox's own DynamoDB engine) started directly, with the app's tables as app.arc declares them,
// under any names: sandbox's (`<app>-staging-mappings`) or a deployed stack's physical ones. For the benchmarks'
// local world and for tests that run without sandbox (the CLI's deployed target).
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'

// dynalite ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (o: { createTableMs: number }) => Server = require('dynalite')

export interface TableNames { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }

export interface LocalTables {
  readonly endpoint: string
  /** A client for seeding and reading back (the local broker's credentials; dynalite checks none). */
  readonly db: DynamoDBClient
  stop (): Promise<void>
}

/** app.arc's `@tables`: mappings (scope, role), audit (pk, sk) with its byProject index, and issuer-keys (issuer). */
export async function createTables (db: DynamoDBClient, names: TableNames): Promise<void> {
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }
  await db.send(new CreateTableCommand({
    TableName: names.mappings,
    AttributeDefinitions: [{ AttributeName: 'scope', AttributeType: 'S' }, { AttributeName: 'role', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'scope', KeyType: 'HASH' }, { AttributeName: 'role', KeyType: 'RANGE' }],
    ProvisionedThroughput: throughput,
  }))
  await db.send(new CreateTableCommand({
    TableName: names.audit,
    AttributeDefinitions: ['pk', 'sk', 'project', 'at'].map(AttributeName => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'byProject',
      KeySchema: [{ AttributeName: 'project', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' },
      ProvisionedThroughput: throughput,
    }],
    ProvisionedThroughput: throughput,
  }))
  await db.send(new CreateTableCommand({
    TableName: names.issuerKeys,
    AttributeDefinitions: [{ AttributeName: 'issuer', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'issuer', KeyType: 'HASH' }],
    ProvisionedThroughput: throughput,
  }))
}

/** dynalite on loopback (port 0: any free one) with the tables created. */
export async function startTables (names: TableNames, port = 0): Promise<LocalTables> {
  const server = dynalite({ createTableMs: 0 })
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
    stop: async () => {
      db.destroy()
      await new Promise(resolve => server.close(resolve))
    },
  }
}
