// What the console's pages work with, built once per container from the environment: its configuration, the broker's
// tables (the same stores the CLI uses), the broker's token verifier for Explain, and the sign-in verifier.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createDynamoClient } from '../broker/dynamo'
import { createIssuerKeysStore } from '../broker/issuer-keys'
import { log } from '../broker/log'
import type { Logger } from '../broker/log'
import { createMappedRoles } from '../broker/mapped-roles'
import type { MappedRoles } from '../broker/mapped-roles'
import { createMappingAdmin, createMappingStore } from '../broker/mappings'
import type { MappingAdmin, MappingStore } from '../broker/mappings'
import { createTokenVerifier } from '../broker/token'
import type { JwtVerifier, TokenVerifier } from '../broker/token'
import { loadConsoleConfig } from './config'
import type { ConsoleConfig } from './config'
import { createSignInVerifier } from './sign-in'
import type { SignInClaims } from './sign-in'

export interface ConsoleDeps {
  readonly config: ConsoleConfig
  readonly db: DynamoDBClient
  readonly tables: { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }
  readonly admin: MappingAdmin
  /** The broker's own lookup (one BatchGetItem over the candidate scopes), for Explain. */
  readonly mappings: MappingStore
  /** The roles a project has, as the broker's "no mapping" 403 names them, for Explain. */
  readonly mappedRoles: MappedRoles
  /** The broker's verifier of CI ID tokens, for Explain: what it refuses, the broker refuses. */
  readonly verifyToken: TokenVerifier
  readonly verifySignIn: JwtVerifier<SignInClaims>
  readonly log: Logger
  readonly now: () => Date
}

export function wireConsole (env: Readonly<Record<string, string | undefined>> = process.env): ConsoleDeps {
  const config = loadConsoleConfig(env)
  const broker = config.broker
  const db = createDynamoClient({ region: broker.region, endpoint: broker.dynamoEndpoint })
  return {
    config,
    db,
    tables: broker.tables,
    admin: createMappingAdmin(db, broker.tables.mappings),
    mappings: createMappingStore(db, broker.tables.mappings),
    mappedRoles: createMappedRoles(db, broker.tables.mappings),
    // The keys the broker uses (stored ones first: a private GitLab has no others); what Explain fetches is not stored.
    verifyToken: createTokenVerifier(broker, { store: { ...createIssuerKeysStore(db, broker.tables.issuerKeys), put: async () => undefined } }),
    verifySignIn: createSignInVerifier(config),
    log,
    now: () => new Date(),
  }
}
