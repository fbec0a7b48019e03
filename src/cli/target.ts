// Which tables a command works on: the running sandbox's (--local) or a deployed stack's (--region, --env), resolved
// the way Architect publishes them (SSM `/<StackName>/tables/<name>`). What is read and written is the commands'.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Command } from 'commander'
import { DEFAULT_APP, awsRegion, sandboxTables } from '../broker/config'
import { CliError } from '../broker/errors'
import type { MappingAdmin } from '../broker/mappings'
import { readArc } from './app-arc'
import { readLocalInfo } from './local-info'

export interface TargetOptions {
  local?: boolean
  region?: string
  env?: string
  app?: string
}

export interface Target {
  readonly db: DynamoDBClient
  /** issuerKeys: undefined for a stack deployed before the table existed (only `issuers keys` needs it). */
  readonly tables: { readonly mappings: string; readonly audit: string; readonly issuerKeys?: string }
  /** For messages: "the local sandbox (localhost:5555)", "production in us-east-1". */
  readonly label: string
  readonly local: boolean
  close (): void
}

const ENVS = ['staging', 'production'] as const
/** Architect sandbox's default tables port (`ARC_TABLES_PORT` overrides it). */
const SANDBOX_TABLES_PORT = 5555

/** Adds --local / --region / --env / --app to a command that reads or writes the tables. */
export function addTargetOptions (cmd: Command): Command {
  return cmd
    .option('--local', 'the running sandbox (npm start): its DynamoDB on the port npm start recorded in .tanuki/local.json ($ARC_TABLES_PORT overrides; default 5555)')
    .option('--region <region>', 'a deployed stack: its AWS region (credentials from the usual AWS provider chain)')
    .option('--env <env>', 'with --region: staging or production')
    .option('--app <name>', 'the Architect app name (default: @app in ./app.arc, else tanuki-sts)')
}

/** Architect's toLogicalID (@architect/utils/to-logical-id.js): `tanuki-sts-staging` -> `TanukiStsStaging`. */
export function toLogicalId (text: string): string {
  let s = text.replace(/([A-Z])/g, ' $1')
  if (s.length === 1) return s.toUpperCase()
  s = s.replace(/^[\W_]+|[\W_]+$/g, '').toLowerCase()
  s = s.charAt(0).toUpperCase() + s.slice(1)
  s = s.replace(/[\W_]+(\w|$)/g, (_m: string, ch: string) => ch.toUpperCase())
  return s === 'Get' ? 'GetIndex' : s
}

/** The `@app` name of ./app.arc, if there is one. */
export function appNameFromArc (cwd: string): string | undefined {
  const name = readArc(cwd)?.app?.[0]
  return typeof name === 'string' ? name : undefined
}

/** The stack Architect deploys `app` to for `env`, and the SSM parameters holding its table names. */
export function stackParameters (app: string, env: string): { stack: string; mappings: string; audit: string; issuerKeys: string } {
  const stack = toLogicalId(`${app}-${env}`)
  return { stack, mappings: `/${stack}/tables/mappings`, audit: `/${stack}/tables/audit`, issuerKeys: `/${stack}/tables/issuer-keys` }
}

/** The flags that name these tables again, for a command a message suggests: `--local`, `--region R --env E [--app A]`. */
export function targetFlags (opts: TargetOptions): string {
  const app = opts.app ? ` --app ${opts.app}` : ''
  return opts.local ? `--local${app}` : `--region ${opts.region ?? 'REGION'} --env ${opts.env ?? 'ENV'}${app}`
}

/** Which tables: exactly one of --local and --region (with --env). Commands check this before anything else. */
export function checkTargetOptions (opts: TargetOptions): void {
  if (opts.local && opts.region) throw new CliError('Give either --local or --region, not both.')
  if (!opts.local && !opts.region) {
    throw new CliError('Say which tables: --local (the running sandbox) or --region REGION --env staging|production (a deployed stack).')
  }
  if (opts.local && opts.env) throw new CliError('--env goes with --region; --local always uses the sandbox\'s staging tables.')
  if (opts.region && !opts.env) throw new CliError('--region needs --env staging or --env production.')
  if (opts.env && !(ENVS as readonly string[]).includes(opts.env)) throw new CliError(`--env must be staging or production, not "${opts.env}".`)
}

/** Turns the SDK's connection and missing-table failures into messages that say what to do. */
function explainFailures (db: DynamoDBClient, label: string, hint: string): void {
  db.middlewareStack.add(next => async args => {
    try { return await next(args) }
    catch (e) {
      const code = (e as { code?: string }).code
      const name = e instanceof Error ? e.name : ''
      const text = e instanceof Error ? e.message : String(e)
      if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) throw new CliError(`Nothing answers at ${label}: ${hint}`)
      if (name === 'ResourceNotFoundException') throw new CliError(`A table is missing at ${label} (${text}): ${hint}`)
      if (name === 'CredentialsProviderError') {
        throw new CliError(`No AWS credentials for ${label}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${text})`)
      }
      throw e
    }
  }, { step: 'initialize', name: 'tanukiStsCliErrors' })
}

async function openLocal (opts: TargetOptions, env: NodeJS.ProcessEnv, cwd: string): Promise<Target> {
  // The port the running `npm start` recorded, unless ARC_TABLES_PORT says otherwise (another sandbox).
  const port = env.ARC_TABLES_PORT || String(readLocalInfo(cwd).tablesPort ?? SANDBOX_TABLES_PORT)
  if (!/^\d{1,5}$/.test(port)) throw new CliError(`ARC_TABLES_PORT must be a port number, not "${port}".`)
  const app = opts.app ?? appNameFromArc(cwd) ?? DEFAULT_APP
  const endpoint = `http://localhost:${port}`
  const hasCredentials = Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE)
  const { createDynamoClient } = await import('../broker/dynamo')
  const db = createDynamoClient({
    region: awsRegion(env),
    endpoint,
    // The local DynamoDB checks no signature, but the SDK will not send a request without some credentials.
    ...(!hasCredentials && { credentials: { accessKeyId: 'tanuki-local', secretAccessKey: 'tanuki-local' } }),
  })
  const label = `the local sandbox (localhost:${port})`
  explainFailures(db, label, `is the sandbox running (npm start)? Set ARC_TABLES_PORT if it uses another port; app "${app}" (--app).`)
  return { db, tables: sandboxTables(app), label, local: true, close: () => db.destroy() }
}

async function openDeployed (opts: TargetOptions & { region: string; env: string }, cwd: string): Promise<Target> {
  const app = opts.app ?? appNameFromArc(cwd) ?? DEFAULT_APP
  const where = `${opts.env}/${opts.region}`
  const params = stackParameters(app, opts.env)
  const { SSMClient, GetParametersCommand } = await import('@aws-sdk/client-ssm')
  const ssm = new SSMClient({ region: opts.region, maxAttempts: 3 })
  let values: Map<string, string>
  try {
    const result = await ssm.send(new GetParametersCommand({ Names: [params.mappings, params.audit, params.issuerKeys] }))
    values = new Map((result.Parameters ?? []).map(p => [p.Name ?? '', p.Value ?? '']))
  }
  catch (e) {
    const name = e instanceof Error ? e.name : ''
    const text = e instanceof Error ? e.message : String(e)
    if (name === 'CredentialsProviderError') {
      throw new CliError(`No AWS credentials to read ${where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or get credentials from the broker first (${text})`)
    }
    if (name === 'AccessDeniedException') {
      throw new CliError(`Not allowed to read the table names of ${where}: the caller needs ssm:GetParameters on ${params.stack}/tables/* (${text})`)
    }
    throw new CliError(`Could not read the table names of app ${app} in ${where} from SSM: ${name ? name + ': ' : ''}${text}`)
  }
  finally { ssm.destroy() }
  for (const key of ['mappings', 'audit'] as const) {
    if (!values.get(params[key])) {
      throw new CliError(`No table for app ${app} in ${where}: is it deployed? (looked for SSM parameter ${params[key]}; --app if the app has another name)`)
    }
  }
  const { createDynamoClient } = await import('../broker/dynamo')
  const db = createDynamoClient({ region: opts.region })
  const label = `${app} ${where}`
  explainFailures(db, label, 'check the region and that the stack is deployed.')
  return {
    db,
    tables: { mappings: values.get(params.mappings) as string, audit: values.get(params.audit) as string, issuerKeys: values.get(params.issuerKeys) || undefined },
    label, local: false, close: () => db.destroy(),
  }
}

export async function openTarget (opts: TargetOptions, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<Target> {
  checkTargetOptions(opts)
  if (opts.local) return openLocal(opts, env, cwd)
  return openDeployed(opts as TargetOptions & { region: string; env: string }, cwd)
}

/**
 * The target's mappings table, for reading and conditional writes. The AWS SDK loads with the target (await import),
 * so --help and the commands that touch no table (validate, trust-policy, token) never load it.
 */
export async function mappingAdmin (target: Target): Promise<MappingAdmin> {
  const { createMappingAdmin } = await import('../broker/mappings')
  return createMappingAdmin(target.db, target.tables.mappings)
}

/** Opens the target, runs `fn`, and always releases the client's sockets so the process can exit. */
export async function withTarget<T> (opts: TargetOptions, fn: (target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(opts)
  try { return await fn(target) }
  finally { target.close() }
}
