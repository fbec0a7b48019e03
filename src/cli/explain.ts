// `explain`: which mapping decides a role for a token (or claims) and why, rule by rule, with the broker's own
// verifier and `decide`, so the two cannot disagree. Read-only: nothing issued, nothing written. Printing is explain-report.ts's.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { countUses } from '../broker/audit'
import { parseGitLabClaims, projectUrl } from '../broker/claims'
import type { GitLabClaims } from '../broker/claims'
import { loadConfig } from '../broker/config'
import { denialMessage, failingRules } from '../broker/denial-message'
import { BrokerError, CliError, InvalidToken, MappingInvalid, PayloadTooLarge } from '../broker/errors'
import type { Denial } from '../broker/errors'
import { createMappedRoles } from '../broker/mapped-roles'
import { createMappingAdmin, createMappingStore } from '../broker/mappings'
import type { Mapping } from '../broker/mapping'
import { decide, evaluateMapping } from '../broker/match'
import type { Check } from '../broker/match'
import { ROLE_NAME } from '../broker/role'
import { candidateScopes, decidingScope } from '../broker/scope'
import { createTokenVerifier } from '../broker/token'
import { renderExplanation } from './explain-report'
import { DEFAULT_LOCAL_AUDIENCE, readLocalInfo, trustedIssuers } from './local-info'
import { formatPath } from './mapping-file'
import { print, printJson } from './output'
import { addTargetOptions, checkTargetOptions, withTarget } from './target'
import type { TargetOptions } from './target'

export type Candidate =
  | { scope: string; status: 'none' }
  | { scope: string; status: 'invalid'; decides: boolean; problems: Array<{ path: string; message: string }> }
  | { scope: string; status: 'mapping'; decides: boolean; mapping: Mapping; checks: Check[] }

export interface Explanation {
  role: string
  target: string
  claims: { verified: boolean; note: string; iss: unknown; project_path: unknown; project_id: unknown; ref: unknown; ref_protected: unknown }
  candidates: Candidate[]
  maxUses?: { limit: number; used?: number; checked: boolean; note: string }
  /** When no candidate scope holds the role: where the role is mapped instead (none of which covers this project). */
  mappedElsewhere?: string[]
  verdict: { allow: boolean; status: number; code?: string; message?: string; denial?: Denial; scope?: string }
}

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
      BROKER_TABLE_MAPPINGS: 'unused', BROKER_TABLE_AUDIT: 'unused',
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

async function readClaims (opts: ExplainOptions, now: Date): Promise<{ claims: GitLabClaims; sha256?: string }> {
  if ((opts.token !== undefined) === Boolean(opts.claims)) throw new CliError('Give exactly one of --token JWT (or --token - to read it from stdin) and --claims FILE.')
  if (opts.token !== undefined) {
    const verify = createTokenVerifier(verifierConfig(opts, process.env))
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
  const { claims, sha256 } = await readClaims(opts, now)
  await withTarget(opts, async target => {
    const scopes = candidateScopes(claims.iss, claims.project_path)
    const project = projectUrl(claims)
    const found = await createMappingStore(target.db, target.tables.mappings).find(scopes, opts.role)
    // The broker's decision, by the broker's function.
    const decision = decide(scopes, found, claims, now)
    const decider = decidingScope(scopes, found)
    // As the broker words a "no mapping" denial: with the roles this project has. A hint: unreadable, it is left out.
    const projectRoles = !decision.allow && decision.denial.actual === 'none'
      ? await createMappedRoles(target.db, target.tables.mappings)(scopes).catch(() => [])
      : []
    const candidates: Candidate[] = scopes.map(scope => {
      const stored = found.get(scope)
      if (stored === undefined) return { scope, status: 'none' }
      if (stored instanceof MappingInvalid) {
        return { scope, status: 'invalid', decides: scope === decider, problems: stored.problems.map(p => ({ path: formatPath(p.path), message: p.message })) }
      }
      return { scope, status: 'mapping', decides: scope === decider, mapping: stored, checks: evaluateMapping(stored, claims, now) }
    })
    const explanation: Explanation = {
      role: opts.role,
      target: target.label,
      claims: {
        verified: sha256 !== undefined,
        note: sha256 !== undefined ? 'token verified (signature, issuer, audience, time)' : 'claims taken as given, not verified',
        iss: claims.iss, project_path: claims.project_path, project_id: claims.project_id, ref: claims.ref, ref_protected: claims.ref_protected,
      },
      candidates,
      verdict: decision.allow
        ? { allow: true, status: 200, scope: decision.mapping.scope }
        : { allow: false, status: 403, code: 'access_denied',
            message: denialMessage(opts.role, project, decision.mapping, decision.denial, decision.mapping ? failingRules(decision.mapping, claims, now) - 1 : 0, projectRoles),
            denial: decision.denial, ...(decider && { scope: decider }) },
    }
    if (decision.allow && decision.mapping.maxUses !== undefined) {
      const limit = decision.mapping.maxUses
      // The broker's next step (audit.ts reserveIssuance): a use slot must be free for this token.
      if (sha256 === undefined) {
        explanation.maxUses = { limit, checked: false, note: 'not checked: the use count is per token (give --token)' }
      }
      else {
        const used = await countUses(target.db, target.tables.audit, sha256, decision.mapping.scope, opts.role)
        explanation.maxUses = { limit, used, checked: true, note: `${used} of ${limit} use(s) taken by this token` }
        if (used >= limit) {
          const denial: Denial = { condition: 'maxUses', expected: `at most ${limit}`, actual: 'exhausted' }
          explanation.verdict = { allow: false, status: 403, code: 'access_denied', scope: decision.mapping.scope,
            message: denialMessage(opts.role, project, decision.mapping, denial), denial }
        }
      }
    }
    // A near miss is the usual reason for "no mapping" (a /* one level too high, another issuer's URL): show where
    // the role is mapped. One Scan of the mappings table: this is the admin's tool, not the broker's request path.
    if (!decision.allow && decision.denial.actual === 'none') {
      explanation.mappedElsewhere = (await createMappingAdmin(target.db, target.tables.mappings).list()).filter(e => e.role === opts.role).map(e => e.scope).sort()
    }
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
