// One piece of the benchmarks' local world in a process of its own (`fork`ed by _world.ts): dynalite with the app's
// tables, the local STS, the local issuer, or the event sinks (sandbox's bus, and SNS with every signature checked).
// Out of the measured process, their work no longer runs on the handler's thread. Answers _world.ts's messages.
import { startLocalIssuer } from '../src/local/issuer'
import { LOCAL_BROKER_PRINCIPAL } from '../src/local/stack'
import { startLocalSts } from '../src/local/sts'
import { startFakeAws } from '../test/helpers/fake-aws'
import { startTables } from '../test/helpers/tables'
import { AUDIENCE, PORTS, TABLES, startEventSink } from './_local'

export type ServiceKind = 'tables' | 'sts' | 'issuer' | 'events'

/** What a service says once it listens. */
export interface Ready { readonly ready: true; readonly url: string; readonly publicJwk?: Record<string, unknown> }
/** What the parent asks: the counters, tokens minted with these claims (issuer), or the service stopped. */
export type Ask =
  | { readonly op: 'stats' }
  | { readonly op: 'mint'; readonly claims: ReadonlyArray<Record<string, unknown>> }
  | { readonly op: 'stop' }
export type Request = Ask & { readonly id: number }
export interface Reply { readonly id: number; readonly result?: unknown; readonly error?: string }

interface Service {
  readonly url: string
  readonly publicJwk?: Record<string, unknown>
  stats (): unknown
  mint? (claims: Record<string, unknown>): Promise<string>
  stop (): Promise<unknown>
}

async function start (kind: ServiceKind): Promise<Service> {
  switch (kind) {
    case 'tables': {
      const tables = await startTables(TABLES, PORTS.tables)
      return { url: tables.endpoint, stats: () => ({ ...tables.requests }), stop: tables.stop }
    }
    case 'sts': {
      const sts = await startLocalSts({ port: PORTS.sts, principals: [LOCAL_BROKER_PRINCIPAL] })
      return { url: sts.url, stats: () => ({ ...sts.calls }), stop: sts.close }
    }
    case 'issuer': {
      const issuer = await startLocalIssuer({ port: PORTS.issuer, audience: AUDIENCE })
      return {
        url: issuer.url,
        publicJwk: { ...issuer.publicJwk },
        stats: () => ({ ...issuer.stats }),
        mint: claims => issuer.mint(claims),
        stop: issuer.close,
      }
    }
    case 'events': {
      const bus = await startEventSink(PORTS.events)
      const sns = await startFakeAws({
        port: PORTS.aws,
        lookup: id => (id === LOCAL_BROKER_PRINCIPAL.accessKeyId ? { secretAccessKey: LOCAL_BROKER_PRINCIPAL.secretAccessKey } : undefined),
      })
      return {
        url: sns.url,
        stats: () => ({ bus: bus.received, sns: sns.calls.Publish, snsRejected: sns.calls.rejected, lastSnsMessage: sns.messages.at(-1) }),
        stop: () => Promise.all([bus.close(), sns.close()]),
      }
    }
  }
}

async function main (): Promise<void> {
  const kind = process.argv[2] as ServiceKind
  const send = (message: Ready | Reply) => process.send?.(message)
  const service = await start(kind)
  const answer = async (request: Request): Promise<unknown> => {
    if (request.op === 'stats') return service.stats()
    if (request.op === 'stop') return service.stop().then(() => true)
    if (!service.mint) throw new Error(`${kind} mints no tokens`)
    const tokens: string[] = []
    for (const claims of request.claims) tokens.push(await service.mint(claims))
    return tokens
  }
  process.on('message', (request: Request) => void (async () => {
    try {
      send({ id: request.id, result: await answer(request) })
      if (request.op === 'stop') process.disconnect()
    }
    catch (err) { send({ id: request.id, error: String(err) }) }
  })())
  // The bench that started it is gone (done, or failed before stopping it): no server outlives it.
  process.on('disconnect', () => process.exit(0))
  send({ ready: true, url: service.url, ...(service.publicJwk && { publicJwk: service.publicJwk }) })
}

main().catch(err => { console.error(err); process.exit(1) })
