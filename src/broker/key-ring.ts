// Which keys a container verifies each trusted issuer's tokens with, and when it reads the table or asks the issuer:
// stored keys first, the issuer only for a kid they lack (or none stored), never for a table-only issuer.
// Verifying with the keys is token.ts's; the table is issuer-keys.ts's, the fetch issuer-fetch.ts's.
import { storeUnavailable } from './dynamo'
import { createIssuerFetcher } from './issuer-fetch'
import type { FetchedKeys, IssuerFetchStats, IssuerFetcher } from './issuer-fetch'
import { KeySetInvalid, KeysConflict, Unavailable } from './errors'
import { BROKER_WRITER } from './issuer-keys'
import type { IssuerKeysStore, KeysRead, StoredKeys } from './issuer-keys'
import { sameKeys } from './key-set'
import type { KeySet } from './key-set'
import type { Logger } from './log'
import { errorFields } from './log'

/** A warm container reads its issuers' stored keys again (with a request's mapping read) once they are this old. */
export const TABLE_REREAD_MS = 60_000
/** An unknown kid sends the broker to the issuer at most once per 30 s per container (jose's cooldown, as before). */
export const FETCH_COOLDOWN_MS = 30_000
/** An unknown kid of a table-only issuer re-reads the table at most this often: a push takes effect within seconds. */
export const TABLE_ONLY_REREAD_MS = 5_000
/**
 * A set read from its issuer longer ago than this is fetched again before use, so a key the issuer withdrew stops
 * verifying within a day even with no rotation (an outage keeps the stored set). `tanuki-sts issuers keys push` is at once.
 */
export const RECHECK_AFTER_MS = 24 * 3600_000

export interface KeyRing {
  /**
   * Runs `read` (which reads the issuer's keys item, with whatever else the request needs) when this container should
   * read the stored keys: none read yet, or read over a minute ago, and no such read under way. Else undefined.
   */
  readStoredWith<T extends { readonly keys: KeysRead }> (issuer: string, read: () => Promise<T>): Promise<T | undefined>
  /** The set to verify with. Unavailable (503) when there is none to be had, or the stored item is invalid. */
  current (issuer: string): Promise<KeySet>
  /** A token's kid is in none of `current`'s keys: a newer set (fetched, or re-read for a table-only issuer), else undefined. */
  refresh (issuer: string, kid: unknown): Promise<KeySet | undefined>
  readonly stats: IssuerFetchStats
}

export interface KeyRingOptions {
  /** The issuer-keys table; without one (the CLI's explain, unit tests) keys are fetched and kept in memory only. */
  readonly store?: IssuerKeysStore
  /** Issuers whose keys come from the table alone: the broker never sends them a request (BROKER_TABLE_ONLY_ISSUERS). */
  readonly tableOnly?: readonly string[]
  readonly log?: Logger
  /** Milliseconds since the epoch, for cooldowns and ages; default Date.now (a seam for tests). */
  readonly clock?: () => number
  readonly fetcher?: IssuerFetcher
}

interface Known { readonly set: KeySet; readonly fetchedAt: string }

interface IssuerState {
  /** The last table read: its valid keys, or why the item was refused (the issuer then has none until it is fixed). */
  stored?: StoredKeys
  refused?: KeySetInvalid
  tableReadAt?: number
  /** A read of the item under way (concurrent requests in one process wait for it rather than read it again). */
  reading?: Promise<void>
  /** The last set fetched by this container. */
  fetched?: Known
  lastFetch?: { at: number; error?: Unavailable }
  fetching?: Promise<Known>
}

const silent: Logger = () => undefined
const shown = (kid: unknown) => typeof kid === 'string' ? kid.slice(0, 64) : String(kid)

export function createKeyRing (options: KeyRingOptions = {}): KeyRing {
  const clock = options.clock ?? Date.now
  const log = options.log ?? silent
  const fetcher = options.fetcher ?? createIssuerFetcher(clock)
  const store = options.store
  const tableOnly = new Set(options.tableOnly ?? [])
  const states = new Map<string, IssuerState>()
  const stateOf = (issuer: string): IssuerState => {
    let state = states.get(issuer)
    if (!state) states.set(issuer, state = {})
    return state
  }

  function accept (issuer: string, read: KeysRead): void {
    const state = stateOf(issuer)
    state.tableReadAt = clock()
    state.stored = read instanceof KeySetInvalid ? undefined : read
    state.refused = read instanceof KeySetInvalid ? read : undefined
    if (state.refused) {
      log('error', 'stored issuer keys are invalid; refusing that issuer\'s tokens until they are pushed again', {
        issuer, problems: state.refused.problems, fix: `tanuki-sts issuers keys push --issuer ${issuer}`,
      })
    }
  }

  async function readStored (issuer: string): Promise<void> {
    if (!store) return
    let read: KeysRead
    try { read = await store.get(issuer) }
    catch (err) { throw storeUnavailable('issuer-keys table', err) }
    accept(issuer, read)
  }

  /** The newer of what the table holds and what this container fetched. */
  function known (state: IssuerState): Known | undefined {
    const { stored, fetched } = state
    if (!stored || !fetched) return stored ?? fetched
    return fetched.fetchedAt > stored.fetchedAt ? fetched : stored
  }

  /** Fetches from the issuer (one at a time per issuer) and stores what changed; throws Unavailable. */
  function fetchKeys (issuer: string, state: IssuerState): Promise<Known> {
    if (state.fetching) return state.fetching
    state.lastFetch = { at: clock() }
    const attempt = state.lastFetch
    state.fetching = (async () => {
      let fetched: FetchedKeys
      try { fetched = await fetcher.keys(issuer) }
      catch (err) {
        attempt.error = err instanceof Unavailable ? err : new Unavailable(`The token issuer's keys could not be fetched from ${issuer}; try again shortly.`, { cause: err })
        throw attempt.error
      }
      const now = new Date(clock())
      const result: Known = { set: fetched.set, fetchedAt: now.toISOString() }
      state.fetched = result
      const stored = state.stored
      const changed = !stored || !sameKeys(stored.set, fetched.set)
      if (store && (changed || now.getTime() - Date.parse(stored.fetchedAt) > RECHECK_AFTER_MS)) {
        try {
          const written: StoredKeys = { issuer, set: fetched.set, source: fetched.source, fetchedAt: result.fetchedAt, updatedBy: BROKER_WRITER }
          await store.put(written)
          state.stored = written
          log('info', changed ? 'issuer keys fetched and stored' : 'issuer keys rechecked', { issuer, source: fetched.source, kids: fetched.set.keys.map(k => k.kid) })
        }
        catch (err) {
          // The set is the issuer's own, just fetched: this request still verifies with it; the next container fetches again.
          if (!(err instanceof KeysConflict)) log('error', 'fetched issuer keys could not be stored', { issuer, ...errorFields(err) })
        }
      }
      return result
    })().finally(() => { state.fetching = undefined })
    return state.fetching
  }

  const inCooldown = (state: IssuerState) => state.lastFetch !== undefined && clock() - state.lastFetch.at < FETCH_COOLDOWN_MS

  function wantsStored (issuer: string): boolean {
    if (!store) return false
    const state = states.get(issuer)
    if (state?.reading) return false
    return state?.tableReadAt === undefined || clock() - state.tableReadAt > TABLE_REREAD_MS
  }

  return {
    stats: fetcher.stats,
    async readStoredWith (issuer, read) {
      if (!wantsStored(issuer)) return undefined
      const state = stateOf(issuer)
      const pending = read().then(result => { accept(issuer, result.keys); return result })
      const settled = pending.then(() => undefined, () => undefined)
      state.reading = settled
      void settled.then(() => { if (state.reading === settled) state.reading = undefined })
      return pending
    },
    async current (issuer) {
      await states.get(issuer)?.reading
      if (wantsStored(issuer)) await readStored(issuer)
      const state = stateOf(issuer)
      if (state.refused) {
        throw new Unavailable(`The keys the broker stores for the token issuer ${issuer} are invalid, so its tokens cannot be verified; an admin must push them again.`,
          { detail: state.refused.message })
      }
      const have = known(state)
      if (tableOnly.has(issuer)) {
        if (have) return have.set
        throw new Unavailable(`No keys are stored for the token issuer ${issuer}, whose keys come from the broker's table alone; an admin must push them (tanuki-sts issuers keys push).`)
      }
      if (have && clock() - Date.parse(have.fetchedAt) <= RECHECK_AFTER_MS) return have.set
      if (inCooldown(state) && !state.fetching) {
        // Asked less than a cooldown ago: the stored set if there is one, else that failure again (no request per caller).
        if (have) return have.set
        if (state.lastFetch?.error) throw state.lastFetch.error
      }
      try { return (await fetchKeys(issuer, state)).set }
      catch (err) {
        if (!have) throw err
        // An issuer outage stops nothing for keys already known: they were the issuer's when read.
        log('warn', 'issuer keys could not be rechecked; verifying with the stored ones', { issuer, fetchedAt: have.fetchedAt, ...errorFields(err) })
        return have.set
      }
    },
    async refresh (issuer, kid) {
      const state = stateOf(issuer)
      const before = known(state)
      if (tableOnly.has(issuer)) {
        if (store && (state.tableReadAt === undefined || clock() - state.tableReadAt > TABLE_ONLY_REREAD_MS)) await readStored(issuer)
        const after = known(state)
        if (after && !state.refused && (!before || !sameKeys(before.set, after.set))) return after.set
        log('warn', 'a token names a key not stored for a table-only issuer: if the issuer rotated its keys, push them', {
          issuer, kid: shown(kid), fix: `tanuki-sts issuers keys push --issuer ${issuer}`,
        })
        return undefined
      }
      if (inCooldown(state)) {
        // Within the cooldown a failed fetch is still the answer (503); after a good one the kid is just unknown (401).
        if (state.lastFetch?.error) throw state.lastFetch.error
        if (!state.fetching) return undefined
      }
      const fetched = await fetchKeys(issuer, state)
      return before && sameKeys(before.set, fetched.set) ? undefined : fetched.set
    },
  }
}
