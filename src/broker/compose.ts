// The composition root: the one place the broker's request path is put together, from the Lambda's environment and the
// seams a test or a benchmark replaces. The credentials Lambdas (http.ts), the security suite's in-process broker, the
// benchmarks and the tests all build it here. What each part does is its own module's.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { STSClient } from '@aws-sdk/client-sts'
import { createAuditStore } from './audit'
import { createBatchReader } from './batch-read'
import { loadConfig, loadEventsTarget } from './config'
import type { CredentialsMetrics } from './credentials-metrics'
import { createDynamoClient } from './dynamo'
import { createExchange } from './exchange'
import type { Exchange } from './exchange'
import { createIssuerKeysStore } from './issuer-keys'
import { log } from './log'
import type { Logger } from './log'
import { createMappedRoles } from './mapped-roles'
import { createMappingStore } from './mappings'
import { createPublisher } from './publish'
import type { Publish } from './publish'
import { createStsClient, createStsPort } from './sts'
import type { StsPort } from './sts'
import { createTokenVerifier } from './token'
import type { TokenVerifier } from './token'
import { createVerifyAndFind } from './verify-and-find'

/** What a test or a benchmark may replace. The Lambdas pass none: each part is then the real one, built from `env`. */
export interface Seams {
  /** Milliseconds since the epoch, as Date.now: the request's time (token checks, audit records) and the cooldowns of the issuer fetches. */
  readonly clock?: () => number
  /** The DynamoDB client of the three tables (one that injects faults, counts commands, or keeps the tables in memory). */
  readonly db?: DynamoDBClient
  /** AssumeRole (an in-memory stand-in); by default the STS client's. */
  readonly sts?: StsPort
  /** The `credentials-issued` publisher (a no-op, a sink, a stand-in bus); by default sandbox's bus or the SNS topic. */
  readonly publish?: Publish
  /** Sees each SDK client built here before its first request, e.g. to add middleware that counts round trips. */
  readonly instrument?: (client: DynamoDBClient | STSClient) => void
  readonly log?: Logger
  /** Counts the audit store's and the publisher's failures against the request (the handler's metrics pass this). */
  readonly metrics?: Pick<CredentialsMetrics, 'watchAudit' | 'watchPublish'>
}

export interface Broker {
  readonly exchange: Exchange
  /** The token verifier: the issuers' keys a warm container keeps (from the issuer-keys table, or fetched), and how often it fetched them. */
  readonly verifier: TokenVerifier
}

/** The broker for an environment; a bad variable throws a TypeError naming it (http.ts then answers 503). */
export function composeBroker (env: Readonly<Record<string, string | undefined>> = process.env, seams: Seams = {}): Broker {
  const config = loadConfig(env)
  let sts: STSClient | undefined
  const stsClient = (): STSClient => {
    if (!sts) {
      sts = createStsClient({ region: config.region, endpoint: config.stsEndpoint })
      seams.instrument?.(sts)
    }
    return sts
  }
  // The event is signed with the STS client's credential provider: the Lambda role's, resolved once and cached.
  const publish = seams.publish ?? createPublisher(loadEventsTarget(env), stsClient().config.credentials)
  let db = seams.db
  if (!db) {
    db = createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint })
    seams.instrument?.(db)
  }
  const clock = seams.clock
  const logger = seams.log ?? log
  const watch = seams.metrics ?? { watchAudit: <T>(store: T) => store, watchPublish: <T>(p: T) => p }
  const verifier = createTokenVerifier(config, { store: createIssuerKeysStore(db, config.tables.issuerKeys), log: logger, ...(clock && { clock }) })
  const exchange = createExchange({
    config,
    verifyAndFind: createVerifyAndFind({
      verifier,
      mappings: createMappingStore(db, config.tables.mappings),
      readTogether: createBatchReader(db, config.tables),
    }),
    mappedRoles: createMappedRoles(db, config.tables.mappings),
    audit: watch.watchAudit(createAuditStore(db, config.tables.audit)),
    sts: seams.sts ?? createStsPort({ client: stsClient() }),
    publish: watch.watchPublish(publish),
    log: logger,
    ...(clock && { now: () => new Date(clock()) }),
  })
  return { exchange, verifier }
}
