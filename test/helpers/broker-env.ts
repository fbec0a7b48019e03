// Set up for integration tests: the whole broker as `npm start` runs it (sandbox + local DynamoDB, local issuer,
// local STS), on test ports, with every Lambda log line captured. Tests seed mappings through the same admin code as the CLI.
import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { AuditRecord } from '../../src/broker/audit'
import { createDynamoClient } from '../../src/broker/dynamo'
import { createMappingAdmin } from '../../src/broker/mappings'
import { parseMapping } from '../../src/broker/mapping'
import type { LocalIssuer, MintOptions } from '../../src/local/issuer'
import { ROOT, startLocalStack } from '../../src/local/stack'
import type { LocalSts } from '../../src/local/sts'
import { appArc, keyNames } from './app-arc'

export { ROOT }
export const AUDIENCE = 'https://sts.tanuki.test'
export const ROLE_ARN = 'arn:aws:iam::111122223333:role/payments-deploy'

export interface BrokerEnv {
  readonly url: string
  readonly issuer: LocalIssuer
  readonly sts: LocalSts
  readonly db: DynamoDBClient
  readonly tables: { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }
  /** Sandbox's event bus (what the credentials Lambdas publish to): `{ name, payload }` reaches that @events Lambda. */
  readonly eventsUrl: string
  /** The sandbox's local DynamoDB port: what `tanuki-sts --local` needs as ARC_TABLES_PORT. */
  readonly tablesPort: number
  /** Every line the Lambdas wrote (stdout and stderr), for assertions and the no-secrets check. */
  readonly logs: string[]
  /** The Lambdas' environment (the console's client secret and session key are in it: secrets to look for in logs). */
  readonly lambdaEnv: Readonly<Record<string, string>>
  mint (claims?: Record<string, unknown>, opts?: MintOptions): Promise<string>
  putMapping (raw: Record<string, unknown>): Promise<void>
  auditRecords (): Promise<AuditRecord[]>
  /** Empties the issuer-keys table: the next container finds no keys stored, as on a first deploy. */
  forgetIssuerKeys (): Promise<void>
  reset (): Promise<void>
  stop (): Promise<void>
}

export interface BrokerEnvOptions {
  httpPort?: number
  /** Extra or overriding Lambda environment variables. */
  env?: Record<string, string>
  /** More issuers the broker trusts, after the local issuer. */
  extraIssuers?: readonly string[]
}

let captured: string[] | undefined
const PLUGIN_PROGRESS = /^(?:Compiling TypeScript|Compiled project in [\d.]+s)\n$/
function captureLambdaOutput (logs: string[]) {
  captured = logs
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    // Sandbox relays each Lambda's output as '\n' + data; tape's own lines never start with a newline.
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : ''
      // The TypeScript plugin's progress at each sandbox start (its errors still show).
      if (PLUGIN_PROGRESS.test(text) && !process.env.TANUKI_TEST_VERBOSE) return true
      if (captured && text.startsWith('\n')) {
        captured.push(...text.split('\n').filter(l => l.trim() !== ''))
        if (!process.env.TANUKI_TEST_VERBOSE) return true
      }
      return write(chunk, ...rest)
    }) as typeof stream.write
  }
}

export async function scanAll (db: DynamoDBClient, table: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = []
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }))
    items.push(...(page.Items ?? []).map(i => unmarshall(i)))
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return items
}

export async function startBrokerEnv (options: BrokerEnvOptions = {}): Promise<BrokerEnv> {
  const logs: string[] = []
  captureLambdaOutput(logs)
  // Test ports, so a developer's `npm start` on the defaults can keep running; TANUKI_TEST_PORT_BASE moves all four.
  const base = Number(process.env.TANUKI_TEST_PORT_BASE || 3430)
  const stack = await startLocalStack({
    httpPort: options.httpPort ?? base,
    tablesPort: base + 1,
    eventsPort: base + 2,
    internalPort: base + 3,
    issuerPort: 0,
    stsPort: 0,
    audience: AUDIENCE,
    ...(options.env && { env: options.env }),
    ...(options.extraIssuers && { extraIssuers: options.extraIssuers }),
  })
  const { issuer, sts, tables } = stack
  const db = createDynamoClient({ region: 'us-east-1', endpoint: stack.dynamoEndpoint })
  const admin = createMappingAdmin(db, tables.mappings)

  return {
    url: stack.brokerUrl,
    eventsUrl: stack.eventsUrl,
    tablesPort: base + 1,
    issuer,
    sts,
    db,
    tables,
    logs,
    lambdaEnv: stack.lambdaEnv,
    mint: (claims, opts) => issuer.mint(claims, opts),
    async putMapping (raw) {
      const mapping = parseMapping(raw)
      const current = await admin.get(mapping.scope, mapping.role)
      await admin.put(mapping, current === undefined ? undefined : { updatedAt: 'updatedAt' in current ? current.updatedAt : undefined })
    },
    auditRecords: async () => (await scanAll(db, tables.audit)) as unknown as AuditRecord[],
    async forgetIssuerKeys () {
      for (const item of await scanAll(db, tables.issuerKeys)) {
        await db.send(new DeleteItemCommand({ TableName: tables.issuerKeys, Key: { issuer: { S: String(item.issuer) } } }))
      }
    },
    async reset () {
      // The mappings and the audit records, each by its key as app.arc declares it; the issuers' keys stay (forgetIssuerKeys).
      for (const declared of (await appArc()).tables) {
        if (declared.name !== 'mappings' && declared.name !== 'audit') continue
        const table = tables[declared.name]
        for (const item of await scanAll(db, table)) {
          await db.send(new DeleteItemCommand({ TableName: table, Key: Object.fromEntries(keyNames(declared).map(k => [k, { S: String(item[k]) }])) }))
        }
      }
      sts.reset()
      sts.clearFaults()
    },
    async stop () {
      await stack.stop()
      db.destroy()
      captured = undefined
    },
  }
}

/** Polls until `check` returns a value (the event Lambda runs after the response). */
export async function eventually<T> (check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T | undefined> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined || Date.now() > until) return value
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
