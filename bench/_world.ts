// The benchmarks' local world out of the measured process: dynalite, the local STS, the local issuer and the event
// sinks each run in a child process of their own (_service.ts), so their work never shares the handler's thread, as
// DynamoDB, STS and SNS never share a Lambda's. _local.ts's startWorld() keeps them in process, for what only counts.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { JWK } from 'jose'
import { createMappingAdmin } from '../src/broker/mappings'
import { parseMapping } from '../src/broker/mapping'
import { useLocalBrokerCredentials } from '../src/local/stack'
import { PORTS, TABLES, awsPathEnv, sandboxEnv } from './_local'
import type { Ask, Ready, Reply, ServiceKind } from './_service'

/** Each service's counters, as _service.ts reports them. */
export interface WorldStats {
  /** Requests dynalite received, by operation. */
  readonly dynamodb: Readonly<Record<string, number>>
  readonly sts: { readonly AssumeRole: number; readonly rejected: number }
  readonly issuer: { readonly discovery: number; readonly jwks: number }
  /** Events received on sandbox's bus; SNS Publishes verified, and refused for their signature; the last Message. */
  readonly events: { readonly bus: number; readonly sns: number; readonly snsRejected: number; readonly lastSnsMessage?: string }
}

export interface RemoteWorld {
  readonly issuerUrl: string
  readonly publicJwk: JWK
  /** For seeding and reading back: SDK defaults, the local broker's credentials. */
  readonly db: DynamoDBClient
  /** The broker's environment on sandbox's path: events to the bus. */
  readonly env: Record<string, string>
  /** On the AWS path: tables by name, events through one signed SNS Publish (the SNS sink checks every signature). */
  readonly awsEnv: Record<string, string>
  /** One token per claims object, minted by the issuer's process. */
  mint (claims: ReadonlyArray<Record<string, unknown>>): Promise<string[]>
  stats (): Promise<WorldStats>
  putMapping (raw: Record<string, unknown>): Promise<void>
  stop (): Promise<void>
}

interface Child { readonly ready: Ready; ask (request: Ask): Promise<unknown> }

function startService (kind: ServiceKind): Promise<Child> {
  const child: ChildProcess = fork(join(__dirname, '_service.ts'), [kind], {
    execArgv: ['--import', 'tsx'],
    // Its stdout is not the bench's: `npm run bench` keeps only lines that are figures.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let next = 0
  return new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error(`the ${kind} service exited (${code}) before it was ready`)))
    child.on('message', (message: Ready | Reply) => {
      if ('ready' in message) {
        resolve({
          ready: message,
          ask: request => new Promise((resolve, reject) => {
            const id = next++
            waiting.set(id, { resolve, reject })
            child.send({ ...request, id })
          }),
        })
        return
      }
      const pending = waiting.get(message.id)
      waiting.delete(message.id)
      if (message.error !== undefined) pending?.reject(new Error(`${kind}: ${message.error}`))
      else pending?.resolve(message.result)
    })
  })
}

export async function startWorldProcesses (): Promise<RemoteWorld> {
  // The SDK's default credential chain in this process reads these, as a Lambda reads its role's.
  process.env.AWS_REGION = 'us-east-1'
  useLocalBrokerCredentials()
  const [tables, sts, issuer, events] = await Promise.all((['tables', 'sts', 'issuer', 'events'] as const).map(startService))
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${PORTS.tables}` })
  const admin = createMappingAdmin(db, TABLES.mappings)
  const issuerUrl = issuer.ready.url
  return {
    issuerUrl,
    publicJwk: issuer.ready.publicJwk as JWK,
    db,
    env: sandboxEnv(issuerUrl, sts.ready.url),
    awsEnv: awsPathEnv(issuerUrl, sts.ready.url, events.ready.url),
    mint: async claims => await issuer.ask({ op: 'mint', claims }) as string[],
    async stats () {
      const [dynamodb, stsCalls, issuerStats, eventStats] = await Promise.all([tables, sts, issuer, events].map(c => c.ask({ op: 'stats' })))
      return { dynamodb, sts: stsCalls, issuer: issuerStats, events: eventStats } as WorldStats
    },
    async putMapping (raw) {
      await admin.put(parseMapping(raw), undefined)
    },
    async stop () {
      db.destroy()
      await Promise.allSettled([tables, sts, issuer, events].map(c => c.ask({ op: 'stop' })))
    },
  }
}
