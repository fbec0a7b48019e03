// `explain`: which mapping decides a role for a token (or claims) and why, rule by rule, with the broker's own
// verifier and `decide` (explanation.ts), so the two cannot disagree. Read-only: nothing issued, nothing written.
// Printing is explain-report.ts's.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseGitLabClaims } from '../broker/claims'
import type { GitLabClaims } from '../broker/claims'
import { loadConfig } from '../broker/config'
import { BrokerError, CliError, InvalidToken, PayloadTooLarge } from '../broker/errors'
import { ROLE_NAME } from '../broker/role'
import { renderExplanation } from './explain-report'
import { buildExplanation } from './explanation'
import { DEFAULT_LOCAL_AUDIENCE, readLocalInfo, trustedIssuers } from './local-info'
import { print, printJson } from './output'
import { addTargetOptions, checkTargetOptions, mappingAdmin, withTarget } from './target'
import type { Target, TargetOptions } from './target'

export type { Candidate, Explanation } from './explanation'

interface ExplainOptions extends TargetOptions {
  token?: string
  claims?: string
  role: string
  json?: boolean
  issuer?: string[]
  audience?: string
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

function readToken (value: string): string {
  const text = value === '-' ? readFileSync(0, 'utf8') : value
  const token = text.trim().replace(/^Bearer\s+/i, '')
  // `--token "$BROKER_ID_TOKEN"` with the variable unset: say that, not that "" is not a JWT.
  if (token === '') throw new CliError(value === '-' ? '--token -: nothing came on stdin.' : '--token is empty: is the variable holding the token set?')
  return token
}

/** The broker's own issuer checks (loadConfig), fed from the flags or the broker's variables. */
function verifierConfig (opts: ExplainOptions, env: NodeJS.ProcessEnv) {
  const issuers = trustedIssuers(opts, env).join(',')
  try {
    return loadConfig({
      BROKER_ISSUERS: issuers,
      BROKER_AUDIENCE: opts.audience ?? (env.BROKER_AUDIENCE || (opts.local ? readLocalInfo().audience ?? DEFAULT_LOCAL_AUDIENCE : undefined)),
      // A sandbox's issuer is http:// on loopback; elsewhere only if the broker's own switch says so.
      BROKER_ALLOW_HTTP_ISSUERS: opts.local ? 'true' : env.BROKER_ALLOW_HTTP_ISSUERS,
      ARC_ENV: opts.local ? 'testing' : opts.env,
      BROKER_TABLE_MAPPINGS: 'unused', BROKER_TABLE_AUDIT: 'unused', BROKER_TABLE_ISSUER_KEYS: 'unused',
    })
  }
  catch (e) {
    if (e instanceof TypeError) {
      // Name what the user gave: a flag's value is checked as the broker checks its variable.
      const message = opts.issuer?.length && e.message.startsWith('BROKER_ISSUERS') ? e.message.replace(/^BROKER_ISSUERS/, '--issuer')
        : opts.audience !== undefined && e.message.startsWith('BROKER_AUDIENCE') ? e.message.replace(/^BROKER_AUDIENCE/, '--audience')
          : `${e.message} (set it, or pass --issuer / --audience)`
      throw new CliError(message)
    }
    throw e
  }
}

/** A verdict the broker would answer before looking at any mapping: 401 for a token it does not accept. */
function refused (e: BrokerError, opts: ExplainOptions): never {
  if (opts.json) printJson({ role: opts.role, verdict: { allow: false, status: e.status, code: e.code, message: e.message } })
  // An old job's token has expired by the time someone explains it: its claims still say what the mappings decide.
  const hint = opts.token && /expired/.test(e.message) ? ' To see what the mappings decide for its claims, save its payload as JSON and use --claims FILE.' : ''
  throw new CliError(`The broker would refuse this ${opts.token ? 'token' : 'claim set'} (${e.status} ${e.code}): ${e.message}${hint}`)
}

async function readClaims (opts: ExplainOptions, now: Date, target: Target): Promise<{ claims: GitLabClaims; sha256?: string }> {
  if ((opts.token !== undefined) === Boolean(opts.claims)) throw new CliError('Give exactly one of --token JWT (or --token - to read it from stdin) and --claims FILE.')
  if (opts.token !== undefined) {
    // The broker's verifier (and jose with it) loads only to verify a token. The keys it uses: those stored for the
    // issuer (a GitLab the broker cannot reach has no others), else fetched from it. Read-only: what explain fetches is not stored.
    const { createTokenVerifier } = await import('../broker/token')
    const { createIssuerKeysStore } = await import('../broker/issuer-keys')
    const keys = target.tables.issuerKeys ? createIssuerKeysStore(target.db, target.tables.issuerKeys) : undefined
    const verify = createTokenVerifier(verifierConfig(opts, process.env), keys ? { store: { ...keys, put: async () => undefined } } : {})
    try {
      const { claims, sha256 } = await verify(readToken(opts.token), now)
      return { claims, sha256 }
    }
    catch (e) {
      if (e instanceof InvalidToken || e instanceof PayloadTooLarge) refused(e, opts)
      if (e instanceof BrokerError) throw new CliError(e.message)
      throw e
    }
  }
  let raw: unknown
  try { raw = JSON.parse(readFileSync(opts.claims as string, 'utf8')) }
  catch (e) { throw new CliError(`Cannot read claims from ${opts.claims}: ${(e as Error).message}`) }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CliError(`${opts.claims} must hold a JSON object of claims.`)
  try { return { claims: parseGitLabClaims(raw as Record<string, unknown>) } }
  catch (e) {
    if (e instanceof InvalidToken) refused(e, opts)
    throw e
  }
}

export async function explain (opts: ExplainOptions): Promise<void> {
  if (!ROLE_NAME.test(opts.role)) throw new CliError(`--role "${opts.role}" is not a role name the broker accepts (1 to 64 letters, digits or _.@+=-, starting with a letter or digit).`)
  checkTargetOptions(opts)
  const now = new Date()
  await withTarget(opts, async target => {
    const { claims, sha256 } = await readClaims(opts, now, target)
    // The broker's own modules (and the AWS SDK they use) load here, not for --help.
    const { createMappingStore } = await import('../broker/mappings')
    const { countUses } = await import('../broker/audit')
    const { createMappedRoles } = await import('../broker/mapped-roles')
    const explanation = await buildExplanation({ claims, sha256, role: opts.role, target: target.label, now }, {
      find: (scopes, role) => createMappingStore(target.db, target.tables.mappings).find(scopes, role),
      countUses: (hash, scope, role) => countUses(target.db, target.tables.audit, hash, scope, role),
      mappedScopes: async role => (await (await mappingAdmin(target)).list()).filter(e => e.role === role).map(e => e.scope),
      projectRoles: scopes => createMappedRoles(target.db, target.tables.mappings)(scopes),
    })
    if (opts.json) printJson(explanation)
    else for (const line of renderExplanation(explanation)) print(line)
  })
}

export function registerExplain (program: Command): void {
  addTargetOptions(program.command('explain')
    .description('show which mapping decides a role for a token, rule by rule, and the verdict the broker would give')
    .option('--token <jwt>', 'an ID token, verified as the broker does (- reads it from stdin)')
    .option('--claims <file>', 'a JSON file of claims, taken as given (not verified)')
    .requiredOption('--role <role>', 'the role the job would ask for')
    .option('--issuer <url>', 'a trusted issuer (repeatable; default $BROKER_ISSUERS, with --local the local issuer)', collect)
    .option('--audience <aud>', 'the audience tokens must carry (default $BROKER_AUDIENCE)')
    .option('--json', 'print JSON'))
    .addHelpText('after', '\nExit status: 0 when explained (allowed or denied), 1 when the token is refused or on error.\n' +
      '\nExamples:\n  $ tanuki-sts explain --local --token "$(npx tanuki-sts token mint)" --role deploy\n' +
      '  $ tanuki-sts explain --token "$TOKEN" --role deploy --region us-east-1 --env production --issuer https://gitlab.com --audience https://sts.example.com\n' +
      '  $ tanuki-sts explain --claims claims.json --role deploy --region us-east-1 --env production')
    .action(explain)
}
