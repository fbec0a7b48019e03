// The embedded default: the whole broker on one machine with no AWS account (DESIGN §7) — sandbox with its local
// DynamoDB, the local issuer and the local STS — used by `npm start`, the tests and the benchmarks alike.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_APP, sandboxTables } from '../broker/config'
import { useApiGatewayRouting } from './api-gateway-routing'
import { startLocalIssuer } from './issuer'
import type { LocalIssuer } from './issuer'
import { startLocalSts } from './sts'
import type { LocalSts, Principal } from './sts'

// Before sandbox loads: its HTTP routes then match paths as API Gateway does (case and trailing slash).
useApiGatewayRouting()
// Architect's sandbox ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sandbox: { start (o: object): Promise<unknown>; end (): Promise<unknown> } = require('@architect/sandbox')
/** The Lambda invocations sandbox has under way (its runtime API's table), by request id: empty when none runs. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const invocations: Record<string, unknown> = require('@architect/sandbox/src/arc/_runtime-api').invocations

/**
 * Waits until no Lambda runs. An @events Lambda runs after the answer that published its event: sandbox ended under it
 * leaves its process asking a closed runtime API for its invocation ("Lambda init error" and an unhandled ECONNREFUSED
 * printed after teardown). Sandbox itself ends a Lambda at its timeout (app.arc: 15 s), so this wait is bounded too.
 */
async function lambdasSettled (timeoutMs = 20_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; Object.keys(invocations).length > 0 && Date.now() < until;) {
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

export const ROOT = join(__dirname, '..', '..')
/** Every server of the embedded default listens here, and only here. */
export const LOOPBACK = '127.0.0.1'
/** The broker's own credentials in local runs (its "Lambda role"): the one principal the local STS lets call AssumeRole. */
export const LOCAL_BROKER_PRINCIPAL: Principal = {
  accessKeyId: 'AKIATANUKILOCALBROKR',
  secretAccessKey: 'tanuki-sts-local-broker-secret-not-a-real-key',
  arn: 'arn:aws:sts::000000000000:assumed-role/tanuki-sts-broker/local',
}

/** Makes this process (and the SDK's default chain in it) act as the broker's Lambda role of local runs. */
export function useLocalBrokerCredentials (): void {
  Object.assign(process.env, {
    AWS_REGION: process.env.AWS_REGION || 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_BROKER_PRINCIPAL.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_BROKER_PRINCIPAL.secretAccessKey,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    // Local machines run Node 20; the deployed Lambdas run nodejs22.x, so the SDK's Node 20 notice is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  })
  delete process.env.AWS_SESSION_TOKEN
  delete process.env.AWS_PROFILE
}

export interface StackOptions {
  httpPort: number
  tablesPort: number
  eventsPort: number
  internalPort: number
  issuerPort: number
  stsPort: number
  audience: string
  issuerKeyFile?: string
  /** More issuers the broker trusts, after the local issuer (e.g. one it cannot reach, with BROKER_TABLE_ONLY_ISSUERS). */
  extraIssuers?: readonly string[]
  /** Extra or overriding Lambda environment variables. */
  env?: Record<string, string>
  quiet?: boolean
}

export interface LocalStack {
  readonly brokerUrl: string
  readonly issuer: LocalIssuer
  readonly sts: LocalSts
  readonly tables: { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }
  readonly dynamoEndpoint: string
  /** Sandbox's event bus: `{ name, payload }` posted here is delivered to that @events Lambda, as SNS would deliver it. */
  readonly eventsUrl: string
  /** The environment the Lambdas run with. */
  readonly lambdaEnv: Record<string, string>
  /** The web console: its URL, and the OAuth application registered for it with the local issuer. */
  readonly console: { readonly url: string; readonly clientId: string }
  stop (): Promise<void>
}

export async function startLocalStack (o: StackOptions): Promise<LocalStack> {
  // Sandbox reads its ports and the Lambdas' AWS credentials from this process's environment.
  Object.assign(process.env, {
    ARC_TABLES_PORT: String(o.tablesPort),
    ARC_EVENTS_PORT: String(o.eventsPort),
    ARC_INTERNAL_PORT: String(o.internalPort),
  })
  useLocalBrokerCredentials()

  // The console signs in with the local issuer, as with GitLab: an OAuth application registered for its callback,
  // with a secret (and a session key) made for this run only.
  const consoleUrl = `http://localhost:${o.httpPort}/console`
  const client = { clientId: 'tanuki-sts-console-local', clientSecret: randomBytes(24).toString('base64url'), redirectUris: [`${consoleUrl}/oauth/callback`] }
  const issuer = await startLocalIssuer({ port: o.issuerPort, audience: o.audience, oauthClients: [client], ...(o.issuerKeyFile && { keyFile: o.issuerKeyFile }) })
  const sts = await startLocalSts({ port: o.stsPort, principals: [LOCAL_BROKER_PRINCIPAL] })
  const lambdaEnv = {
    BROKER_ISSUERS: [issuer.url, ...o.extraIssuers ?? []].join(','),
    BROKER_AUDIENCE: o.audience,
    BROKER_ALLOW_HTTP_ISSUERS: 'true',
    BROKER_STS_ENDPOINT: sts.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CONSOLE_URL: consoleUrl,
    CONSOLE_CLIENT_ID: client.clientId,
    CONSOLE_CLIENT_SECRET: client.clientSecret,
    // The local users' groups (src/local/oauth.ts): local-admin edits, local-viewer views, local-outsider neither.
    CONSOLE_EDITORS: 'group:tanuki-sts/admins',
    CONSOLE_VIEWERS: 'group:tanuki-sts/auditors',
    ARC_APP_SECRET: randomBytes(33).toString('base64'),
    ...o.env,
  }
  try {
    // Loopback only, like the issuer and the STS: the local tables take any credentials, so they must not be reachable
    // from the network (sandbox would otherwise listen on every interface).
    await sandbox.start({ cwd: ROOT, port: o.httpPort, host: LOOPBACK, quiet: o.quiet ?? true, env: lambdaEnv })
    for (const route of ['http/post-credentials', 'http/get-credentials', 'http/get-healthz', 'http/any-catchall', 'events/credentials-issued',
      'http/get-console', 'http/get-console-catchall', 'http/post-console-catchall']) {
      // The TypeScript plugin logs a failed esbuild and starts anyway: stop here instead.
      if (!existsSync(join(ROOT, '.build', route, 'index.js'))) throw new Error(`sandbox did not build ${route}; see the esbuild error above`)
    }
  }
  catch (err) {
    await Promise.allSettled([sandbox.end(), issuer.close(), sts.close()])
    throw err
  }
  return {
    brokerUrl: `http://localhost:${o.httpPort}`,
    issuer,
    sts,
    tables: sandboxTables(DEFAULT_APP),
    dynamoEndpoint: `http://localhost:${o.tablesPort}`,
    eventsUrl: `http://${LOOPBACK}:${o.eventsPort}/events`,
    lambdaEnv,
    console: { url: consoleUrl, clientId: client.clientId },
    async stop () {
      await lambdasSettled()
      await Promise.allSettled([sandbox.end(), issuer.close(), sts.close()])
    },
  }
}
