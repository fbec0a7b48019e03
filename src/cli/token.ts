// `token mint`: a GitLab-shaped ID token from the running local issuer (`POST /-/mint`), for local runs only.
// Signing is the local issuer's (src/local/issuer.ts); this file only asks it, and only on loopback.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { KNOWN_CLAIMS, isKnownClaim } from '../broker/claims'
import { didYouMean } from '../broker/did-you-mean'
import { CliError } from '../broker/errors'
import { DEFAULT_CLAIMS } from '../local/default-claims'
import { DEFAULT_ISSUER_URL, localIssuerUrl, readLocalInfo } from './local-info'
import { err, print, say } from './output'

/** Minting is a key to a broker that trusts this issuer: only ever ask one on this machine. */
export function checkLoopback (text: string): URL {
  let url: URL
  try { url = new URL(text) }
  catch { throw new CliError(`--issuer-url "${text}" is not a URL.`) }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new CliError(`Refusing to mint from ${text}: token mint talks only to a local issuer on loopback (127.0.0.1, ::1, localhost).`)
  }
  return url
}

/** The body the local issuer's /-/mint takes: claim overrides, plus `audience` and `expiresIn`. */
export function mintBody (opts: { claims?: string; set?: string[]; audience?: string; expiresIn?: string }, readFile = (p: string) => readFileSync(p, 'utf8')): Record<string, unknown> {
  let claims: Record<string, unknown> = {}
  if (opts.claims) {
    let raw: unknown
    try { raw = JSON.parse(readFile(opts.claims)) }
    catch (e) { throw new CliError(`Cannot read claims from ${opts.claims}: ${(e as Error).message}`) }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CliError(`${opts.claims} must hold a JSON object of claims.`)
    claims = raw as Record<string, unknown>
  }
  for (const pair of opts.set ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CliError(`--set ${pair}: write it as claim=value (e.g. ref=feature).`)
    const name = pair.slice(0, eq)
    // A typo would mint a token that looks tested and is not: say so (the token is still minted, as asked).
    if (!isKnownClaim(name)) say(err.dim(`warning: --set ${name}: "${name}" is not a GitLab ID-token claim, so no mapping condition can test it${didYouMean(name, KNOWN_CLAIMS) || '.'}`))
    claims[name] = pair.slice(eq + 1)
  }
  // A project elsewhere lives in another group: unless told otherwise, its namespace_path is its path's parent (the
  // broker refuses a project_path outside the token's namespace_path).
  if (typeof claims.project_path === 'string' && claims.namespace_path === undefined && claims.project_path.includes('/')) {
    claims.namespace_path = claims.project_path.slice(0, claims.project_path.lastIndexOf('/'))
  }
  // IDs cannot be derived from paths: another project keeps the demo project's, which a pin on its own would refuse.
  for (const [path, id] of [['project_path', 'project_id'], ['namespace_path', 'namespace_id']] as const) {
    if (claims[path] !== undefined && claims[path] !== DEFAULT_CLAIMS[path] && claims[id] === undefined) {
      say(err.dim(`warning: ${path} is not the demo project's, but ${id} still is (${DEFAULT_CLAIMS[id]}): a mapping pinned to the real ${id} refuses this token; add --set ${id}=ID.`))
    }
  }
  let expiresIn: number | undefined
  if (opts.expiresIn !== undefined) {
    if (!/^\d+$/.test(opts.expiresIn) || Number(opts.expiresIn) < 1 || Number(opts.expiresIn) > 86400) {
      throw new CliError(`--expires-in must be a whole number of seconds from 1 to 86400, not "${opts.expiresIn}".`)
    }
    expiresIn = Number(opts.expiresIn)
  }
  return { ...claims, ...(opts.audience !== undefined && { audience: opts.audience }), ...(expiresIn !== undefined && { expiresIn }) }
}

async function mint (opts: { claims?: string; set?: string[]; audience?: string; issuerUrl?: string; expiresIn?: string }): Promise<void> {
  const base = checkLoopback(opts.issuerUrl ?? localIssuerUrl())
  const body = mintBody({ ...opts, audience: opts.audience ?? readLocalInfo().audience })
  const url = new URL('/-/mint', base)
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
  }
  catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
    throw new CliError(`No local issuer answers at ${base.origin} (${cause}): is \`npm start\` running? (--issuer-url or TANUKI_ISSUER_URL)`)
  }
  const answer = await response.json().catch(() => undefined) as { token?: unknown; error?: unknown } | undefined
  if (!response.ok || typeof answer?.token !== 'string') {
    throw new CliError(`The local issuer at ${base.origin} did not mint a token (${response.status}): ${String(answer?.error ?? 'no token in its answer')}`)
  }
  print(answer.token)
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

export function registerToken (program: Command): void {
  const token = program.command('token').description('local runs only: ID tokens from the local issuer')
    .addHelpText('after', '\nExample:\n  $ TOKEN=$(npx tanuki-sts token mint --set ref=main)')
  token.command('mint')
    .description('print a GitLab-shaped ID token minted by the running local issuer (npm start), and nothing else')
    .option('--claims <file>', 'a JSON file of claims overriding the defaults (acme/payments/api on main)')
    .option('--set <claim=value>', 'one claim (a string); repeatable, applied after --claims', collect)
    .option('--audience <aud>', 'the token\'s aud (default: the audience npm start uses)')
    .option('--issuer-url <url>', `the local issuer (default $TANUKI_ISSUER_URL, else the one npm start recorded in .tanuki/local.json, else ${DEFAULT_ISSUER_URL}); loopback only`)
    .option('--expires-in <seconds>', 'lifetime (default 300, as GitLab)')
    .addHelpText('after', '\nExample:\n  $ TOKEN=$(npx tanuki-sts token mint --set ref=feature/x --set ref_protected=false)\n' +
      '  $ curl -X POST -H "Authorization: Bearer $TOKEN" "http://localhost:3333/credentials?role=deploy"')
    .action(mint)
}
