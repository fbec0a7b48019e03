// The benchmarks' local world, in this process: dynalite (sandbox's own DynamoDB engine) with the app's tables as
// app.arc declares them, the local issuer and the local STS on loopback, and the Lambda environment pointing at them.
// What runs against this world, and what is timed, is each bench file's.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { STSClient } from '@aws-sdk/client-sts'
import type { DeserializeMiddleware } from '@smithy/types'
import type { JWK } from 'jose'
import { DEFAULT_APP, sandboxTables } from '../src/broker/config'
import { createIssuerKeysStore } from '../src/broker/issuer-keys'
import { parseKeySet } from '../src/broker/key-set'
import { createMappingAdmin } from '../src/broker/mappings'
import { parseMapping } from '../src/broker/mapping'
import { startLocalIssuer } from '../src/local/issuer'
import type { LocalIssuer } from '../src/local/issuer'
import { LOCAL_BROKER_PRINCIPAL, useLocalBrokerCredentials } from '../src/local/stack'
import { startLocalSts } from '../src/local/sts'
import type { LocalSts } from '../src/local/sts'
import { startTables } from '../test/helpers/tables'

/**
 * Ports base+1 to base+5: 3851-3855 by default, clear of the integration tests' (TANUKI_TEST_PORT_BASE=3800 uses
 * 3800-3803); TANUKI_BENCH_PORT_BASE moves them (another run, or another checkout, on the same machine).
 */
const BASE = Number(process.env.TANUKI_BENCH_PORT_BASE || 3850)
export const PORTS = { tables: BASE + 1, issuer: BASE + 2, sts: BASE + 3, events: BASE + 4, aws: BASE + 5 } as const
export const AUDIENCE = 'https://sts.tanuki.bench'
export const ROLE = 'deploy'
export const ROLE_ARN = 'arn:aws:iam::111122223333:role/payments-deploy'
export const TABLES = sandboxTables(DEFAULT_APP)

/** Sandbox's event bus, reduced to what a publisher sees: POST /events answered 200, and a count. */
export interface EventSink { readonly received: number; readonly url: string; close (): Promise<void> }

export async function startEventSink (port: number = PORTS.events): Promise<EventSink> {
  let received = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      received++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await listen(server, port)
  return {
    get received () { return received },
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

export interface World {
  readonly issuer: LocalIssuer
  readonly sts: LocalSts
  /** A client for seeding and for the floor script: SDK defaults, the local broker's credentials. */
  readonly db: DynamoDBClient
  /** The broker's environment, as sandbox would hand it to the Lambda (ARC_SANDBOX names the tables port). */
  readonly env: Record<string, string>
  putMapping (raw: Record<string, unknown>): Promise<void>
  stop (): Promise<void>
}

function listen (server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
}

/** The broker's environment as sandbox hands it to the Lambda (ARC_SANDBOX names the tables and event bus ports). */
export function sandboxEnv (issuerUrl: string, stsUrl: string): Record<string, string> {
  return {
    ARC_ENV: 'testing',
    ARC_APP_NAME: DEFAULT_APP,
    // Sandbox's shape: the broker reads ports.tables and publishes to ports.events.
    ARC_SANDBOX: JSON.stringify({ version: '9.0.0', ports: { tables: PORTS.tables, events: PORTS.events } }),
    AWS_REGION: 'us-east-1',
    BROKER_ISSUERS: issuerUrl,
    BROKER_AUDIENCE: AUDIENCE,
    BROKER_ALLOW_HTTP_ISSUERS: 'true',
    BROKER_STS_ENDPOINT: stsUrl,
  }
}

/** The `credentials-issued` topic of the AWS path: what the deploy plugin puts in BROKER_EVENTS_TOPIC. */
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:TanukiStsStaging-CredentialsIssuedEventTopic-BENCH'

/**
 * The broker's environment on the AWS path, as a deployed Lambda's (tables by name, events to the topic through one
 * signed SNS Publish), pointed at the local world. ARC_ENV stays testing: a deployed stack's refuses http:// endpoints.
 */
export function awsPathEnv (issuerUrl: string, stsUrl: string, snsUrl: string): Record<string, string> {
  const { ARC_SANDBOX: _, ...env } = sandboxEnv(issuerUrl, stsUrl)
  return {
    ...env,
    BROKER_TABLE_MAPPINGS: TABLES.mappings,
    BROKER_TABLE_AUDIT: TABLES.audit,
    BROKER_TABLE_ISSUER_KEYS: TABLES.issuerKeys,
    BROKER_DYNAMODB_ENDPOINT: `http://127.0.0.1:${PORTS.tables}`,
    BROKER_EVENTS_TOPIC: TOPIC_ARN,
    AWS_ENDPOINT_URL_SNS: snsUrl,
  }
}

export async function startWorld (): Promise<World> {
  // The SDK's default credential chain reads these, as it reads the Lambda role's in AWS.
  process.env.AWS_REGION = 'us-east-1'
  useLocalBrokerCredentials()

  const issuer = await startLocalIssuer({ port: PORTS.issuer, audience: AUDIENCE })
  const sts = await startLocalSts({ port: PORTS.sts, principals: [LOCAL_BROKER_PRINCIPAL] })
  const tables = await startTables(TABLES, PORTS.tables)
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: tables.endpoint })
  const admin = createMappingAdmin(db, TABLES.mappings)

  return {
    issuer,
    sts,
    db,
    env: sandboxEnv(issuer.url, sts.url),
    async putMapping (raw) {
      await admin.put(parseMapping(raw), undefined)
    },
    async stop () {
      db.destroy()
      await Promise.allSettled([issuer.close(), sts.close(), tables.stop()])
    },
  }
}

/** The issuer's current keys in the issuer-keys table, as a broker (or `issuers keys push`) leaves them. */
export async function storeIssuerKeys (db: DynamoDBClient, issuerUrl: string, publicJwk: JWK): Promise<void> {
  await createIssuerKeysStore(db, TABLES.issuerKeys).put({
    issuer: issuerUrl, set: parseKeySet({ keys: [publicJwk] }).set, source: 'bench', fetchedAt: new Date().toISOString(), updatedBy: 'bench',
  })
}

/** The demo project's mapping (as `npm start` seeds it): pinned, ref main, no maxUses unless given. */
export function projectMapping (issuerUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    scope: `${issuerUrl}/acme/payments/api`,
    role: ROLE,
    roleArn: ROLE_ARN,
    pin: { project_id: '4301877' },
    conditions: { ref: 'main' },
    ...extra,
  }
}

/** Round trips per service and operation, counted by SDK middleware on each attempt the client sends. */
export class RoundTrips {
  readonly counts = new Map<string, number>()
  instrument = (client: DynamoDBClient | STSClient): void => {
    const service = client instanceof DynamoDBClient ? 'DynamoDB' : 'STS'
    // Deserialize runs once per HTTP attempt (below the retry middleware), so a retry counts as a round trip too.
    const options = { step: 'deserialize', name: 'benchRoundTrips', override: true } as const
    if (client instanceof DynamoDBClient) client.middlewareStack.add(this.counter(service), options)
    else client.middlewareStack.add(this.counter(service), options)
  }

  private counter<I extends object, O extends object> (service: string): DeserializeMiddleware<I, O> {
    return (next, context) => async args => {
      this.add(service, 'any')
      this.add(service, String(context.commandName ?? 'unknown').replace(/Command$/, ''))
      return next(args)
    }
  }

  private add (service: string, op: string): void {
    const key = `${service}.${op}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  get (service: 'DynamoDB' | 'STS', op = 'any'): number {
    return this.counts.get(`${service}.${op}`) ?? 0
  }

  reset (): void {
    this.counts.clear()
  }
}

/** An API Gateway (HTTP API, payload v2) event for POST /credentials, as the Lambda receives it. */
export function postEvent (token: string, query: string, requestId: string) {
  return {
    version: '2.0',
    routeKey: 'POST /credentials',
    rawPath: '/credentials',
    rawQueryString: query,
    headers: { authorization: `Bearer ${token}`, 'content-length': '0', host: 'sts.tanuki.bench', 'user-agent': 'curl/8.5.0' },
    // API Gateway says who called (the handler logs both); a documentation address (RFC 5737), as a runner's would be.
    requestContext: { requestId, http: { method: 'POST', path: '/credentials', sourceIp: '203.0.113.10', userAgent: 'curl/8.5.0' } },
    isBase64Encoded: false,
  }
}
