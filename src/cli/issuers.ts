// `issuers keys push | list | show`: the issuer-keys table, where the broker finds each trusted issuer's keys. `push`
// reads them from the instance (inside the network) or a file; the checks are the broker's (key-set.ts, issuer-fetch.ts).
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseIssuer } from '../broker/config'
import { BrokerError, CliError, KeySetInvalid, KeysConflict } from '../broker/errors'
import { createIssuerFetcher } from '../broker/issuer-fetch'
import type { StoredKeys } from '../broker/issuer-keys'
import { MAX_KEY_SET_BYTES, parseKeySet } from '../broker/key-set'
import type { KeySet } from '../broker/key-set'
import { EXIT_CONFLICT, err, out, print, printJson, readableTime, renderTable, say } from './output'
import { resolveActor } from './stamp'
import { addTargetOptions, checkTargetOptions, targetFlags, withTarget } from './target'
import type { Target, TargetOptions } from './target'

interface PushOptions extends TargetOptions { issuer: string; fromFile?: string; actor?: string }
interface ReadOptions extends TargetOptions { issuer?: string; json?: boolean }

/** --issuer, checked as the broker checks BROKER_ISSUERS (http:// only for --local, as only local brokers allow it). */
function issuerFlag (text: string, local: boolean | undefined): string {
  try { return parseIssuer(text.trim(), Boolean(local), '--issuer') }
  catch (e) {
    if (e instanceof TypeError) throw new CliError(e.message.replace('need BROKER_ALLOW_HTTP_ISSUERS (local runs only)', 'are for --local only'))
    throw e
  }
}

function keysTable (target: Target, opts: TargetOptions): string {
  if (target.tables.issuerKeys) return target.tables.issuerKeys
  throw new CliError(`${target.label} has no issuer-keys table: deploy this version of tanuki-sts first (${targetFlags(opts)}).`)
}

/** The target's key store: it (and the AWS SDK with it) loads only for a command that reaches a table, not for --help. */
async function keysStore (target: Target, opts: TargetOptions) {
  const { createIssuerKeysStore } = await import('../broker/issuer-keys')
  return createIssuerKeysStore(target.db, keysTable(target, opts))
}

/** The set in a file: a JWK set (GitLab's /oauth/discovery/keys as saved), checked as a fetched one is. */
function readSetFile (path: string): { set: KeySet; skipped: readonly string[] } {
  let text: string
  try { text = readFileSync(path, 'utf8') }
  catch (e) { throw new CliError(`Cannot read ${path}: ${(e as Error).message}`) }
  if (Buffer.byteLength(text) > MAX_KEY_SET_BYTES) throw new CliError(`${path} is larger than ${MAX_KEY_SET_BYTES} bytes; a JWK set is a few KiB.`)
  let raw: unknown
  try { raw = JSON.parse(text) }
  catch (e) { throw new CliError(`${path} is not JSON: ${(e as Error).message}`) }
  return parseKeySet(raw)
}

const bits = (n: string) => Buffer.from(n, 'base64url').length * 8
const kids = (set: KeySet) => set.keys.map(k => k.kid)

async function push (opts: PushOptions): Promise<void> {
  checkTargetOptions(opts)
  const issuer = issuerFlag(opts.issuer, opts.local)
  let read: { set: KeySet; skipped: readonly string[]; source: string }
  try {
    read = opts.fromFile
      ? { ...readSetFile(opts.fromFile), source: `file:${opts.fromFile}` }
      : await createIssuerFetcher().keys(issuer)
  }
  catch (e) {
    if (e instanceof KeySetInvalid) throw new CliError(`The key set is refused, nothing was stored:\n  ${e.problems.join('\n  ')}`)
    if (e instanceof BrokerError) throw new CliError(`${e.message.replace(/; try again shortly\.$/, '.')}${e.detail ? ` (${e.detail})` : ''} Nothing was stored.`)
    throw e
  }
  for (const skip of read.skipped) say(`${err.yellow('note:')} left out ${skip}`)
  const stored: StoredKeys = { issuer, set: read.set, source: read.source, fetchedAt: new Date().toISOString(), updatedBy: resolveActor(opts.actor) }
  await withTarget(opts, async target => {
    const store = await keysStore(target, opts)
    const before = await store.get(issuer)
    try { await store.put(stored) }
    catch (e) {
      if (e instanceof KeysConflict) throw new CliError(`${e.message} Run the command again.`, EXIT_CONFLICT)
      if (e instanceof KeySetInvalid) throw new CliError(`The broker would refuse this item, nothing was stored:\n  ${e.problems.join('\n  ')}`)
      throw e
    }
    const had = before && !(before instanceof KeySetInvalid) ? kids(before.set) : []
    const added = kids(read.set).filter(k => !had.includes(k))
    const removed = had.filter(k => !kids(read.set).includes(k))
    say(`${out.green('Stored')} ${read.set.keys.length} key${read.set.keys.length > 1 ? 's' : ''} for ${issuer} from ${read.source} in ${target.label}` +
      (before instanceof KeySetInvalid ? ', replacing an invalid item.' : before ? (added.length || removed.length ? `: added ${added.join(', ') || 'none'}, removed ${removed.join(', ') || 'none'}.` : ', unchanged.') : '.'))
    say('New broker containers use them at once, running ones within a minute.')
  })
}

function storedJson (issuer: string, keys: StoredKeys | KeySetInvalid | undefined): Record<string, unknown> {
  if (keys === undefined) return { issuer, stored: false }
  if (keys instanceof KeySetInvalid) return { issuer, valid: false, problems: keys.problems }
  return {
    issuer, valid: true, source: keys.source, fetchedAt: keys.fetchedAt, updatedBy: keys.updatedBy,
    keys: keys.set.keys.map(k => ({ kid: k.kid, bits: bits(k.n), ...(k.alg && { alg: k.alg }), ...(k.use && { use: k.use }) })),
  }
}

async function list (opts: ReadOptions): Promise<void> {
  await withTarget(opts, async target => {
    const entries = await (await keysStore(target, opts)).list()
    if (opts.json) return printJson(entries.map(e => storedJson(e.issuer, e.keys)))
    if (entries.length === 0) return say(`No issuer keys are stored in ${target.label}: the broker fetches them from each issuer on first use (tanuki-sts issuers keys push stores them ahead).`)
    print(renderTable(['ISSUER', 'KEYS', 'SOURCE', 'FETCHED', 'BY'], entries.map(({ issuer, keys }) => keys instanceof KeySetInvalid
      ? [issuer, out.red('INVALID'), keys.problems.join('\n'), '', '']
      : [issuer, kids(keys.set).join('\n'), keys.source, readableTime(keys.fetchedAt), keys.updatedBy]), out.bold))
  })
}

async function show (opts: ReadOptions & { issuer: string }): Promise<void> {
  const issuer = issuerFlag(opts.issuer, opts.local)
  await withTarget(opts, async target => {
    const keys = await (await keysStore(target, opts)).get(issuer)
    if (opts.json) return printJson(storedJson(issuer, keys))
    if (keys === undefined) throw new CliError(`No keys are stored for ${issuer} in ${target.label}.`)
    if (keys instanceof KeySetInvalid) {
      throw new CliError(`The keys stored for ${issuer} are invalid, so the broker refuses its tokens (503) until they are pushed again:\n  ${keys.problems.join('\n  ')}`)
    }
    print(`${out.bold(issuer)}\n  source   ${keys.source}\n  fetched  ${readableTime(keys.fetchedAt)} by ${keys.updatedBy}`)
    print(renderTable(['  KID', 'BITS', 'ALG', 'USE'], keys.set.keys.map(k => [`  ${k.kid}`, String(bits(k.n)), k.alg ?? '', k.use ?? '']), out.dim))
  })
}

export function registerIssuers (program: Command): void {
  const issuers = program.command('issuers').description('Trusted issuers: the keys the broker verifies their tokens with.')
  const keys = issuers.command('keys').description('The issuer-keys table: each issuer\'s key set, where it came from and when.')
  addTargetOptions(keys.command('push')
    .description('Store an issuer\'s keys, read from the instance (its discovery document\'s jwks_uri) or a JWK set file. ' +
      'For a GitLab the broker cannot reach (BROKER_TABLE_ONLY_ISSUERS), run it from inside the network, and again after each key rotation.')
    .requiredOption('--issuer <url>', 'the issuer, exactly as its tokens\' iss (https://gitlab.example.com)')
    .option('--from-file <file>', 'a JWK set saved from <issuer>/oauth/discovery/keys, instead of fetching it')
    .option('--actor <name>', 'recorded as who pushed (default: GITLAB_USER_LOGIN, else the OS user)'))
    .action(push)
  addTargetOptions(keys.command('list').description('Every issuer\'s stored keys.').option('--json', 'JSON output'))
    .action(list)
  addTargetOptions(keys.command('show').description('One issuer\'s stored keys.')
    .requiredOption('--issuer <url>', 'the issuer, exactly as its tokens\' iss').option('--json', 'JSON output'))
    .action(show)
}
