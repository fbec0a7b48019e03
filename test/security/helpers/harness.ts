// The security suite's plumbing: requests to the sandbox broker, the broker built in this process (its caches then live
// across requests, as in a warm Lambda), log capture, a stand-in event bus, and ports nobody listens on.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { composeBroker } from '../../../src/broker/compose'
import { createDynamoClient } from '../../../src/broker/dynamo'
import { createCredentialsHandler } from '../../../src/broker/http'
import { createPublisher } from '../../../src/broker/publish'
import type { HttpEvent } from '../../../src/broker/request'
import type { TokenVerifier } from '../../../src/broker/token'
import { AUDIENCE } from '../../helpers/broker-env'
import type { BrokerEnv } from '../../helpers/broker-env'
import { answer } from '../../helpers/post'
import type { Answer } from '../../helpers/post'
import type { Witness } from './witness'

export interface Req {
  method?: string
  path?: string
  query?: string
  /** Sent as `Authorization: Bearer <token>` unless `authorization` is given. */
  token?: string
  /** Raw Authorization values; several make repeated headers. `null`: none at all. */
  authorization?: string | string[] | null
  headers?: Record<string, string>
  body?: string
}

/** One request to the sandbox broker; the token and the answer are registered with the witness. */
export async function call (env: BrokerEnv, witness: Witness, req: Req): Promise<Answer> {
  const headers = new Headers(req.headers)
  const auth = req.authorization !== undefined ? req.authorization : req.token !== undefined ? `Bearer ${req.token}` : null
  for (const value of auth === null ? [] : Array.isArray(auth) ? auth : [auth]) headers.append('authorization', value)
  if (req.token) witness.token(req.token)
  const res = await fetch(`${env.url}${req.path ?? '/credentials'}${req.query === undefined ? '?role=deploy' : req.query ? `?${req.query}` : ''}`, {
    method: req.method ?? 'POST', headers, ...(req.body !== undefined && { body: req.body }),
  })
  const text = await res.text()
  witness.answer(res.status, text)
  return answer(res.status, res.headers, text)
}

/**
 * A clean table for the next test: the audit records so far kept for the witness's no-secrets check, both tables
 * emptied, the local STS's calls and faults cleared, then these mappings put.
 */
export async function fresh (env: BrokerEnv, witness: Witness, ...mappings: Array<Record<string, unknown>>): Promise<void> {
  witness.auditRecords.push(...await env.auditRecords())
  await env.reset()
  for (const m of mappings) await env.putMapping(m)
}

/** The Lambda environment of the sandbox broker, for building the same broker in this process. */
export function brokerVars (env: BrokerEnv, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BROKER_ISSUERS: env.issuer.url,
    BROKER_AUDIENCE: AUDIENCE,
    BROKER_ALLOW_HTTP_ISSUERS: 'true',
    BROKER_STS_ENDPOINT: env.sts.url,
    BROKER_DYNAMODB_ENDPOINT: `http://localhost:${env.tablesPort}`,
    BROKER_TABLE_MAPPINGS: env.tables.mappings,
    BROKER_TABLE_AUDIT: env.tables.audit,
    BROKER_TABLE_ISSUER_KEYS: env.tables.issuerKeys,
    AWS_REGION: 'us-east-1',
    ...extra,
  }
}

export interface InProcess {
  handle (req: Omit<Req, 'path' | 'headers' | 'body'> & { body?: string; contentType?: string }): Promise<Answer>
  readonly verifier: TokenVerifier
}

/**
 * The broker as the Lambdas compose it (real verifier, DynamoDB store on the sandbox's local DynamoDB, STS on the local
 * STS, the real publisher), in this process: one warm container. A given `db` (e.g. with a fault middleware) or
 * `clock` replaces the default; `vars` add to or override the Lambda's environment.
 */
export async function inProcess (env: BrokerEnv, witness: Witness, o: { db?: DynamoDBClient; clock?: () => number; vars?: Record<string, string> } = {}): Promise<InProcess> {
  const bus = await eventBus()
  const { exchange, verifier } = composeBroker(brokerVars(env, o.vars), {
    ...(o.db && { db: o.db }),
    ...(o.clock && { clock: o.clock }),
    // The real publisher, pointed at the stand-in bus as sandbox's bus (unsigned, so no credentials are needed).
    publish: createPublisher({ bus: `http://127.0.0.1:${bus.port}/events` }, async () => ({ accessKeyId: 'unused', secretAccessKey: 'unused' })),
  })
  const handlers = { GET: createCredentialsHandler('GET', () => exchange), POST: createCredentialsHandler('POST', () => exchange) }
  return {
    verifier,
    async handle (req) {
      const method = req.method === 'GET' ? 'GET' : 'POST'
      const auth = req.authorization !== undefined ? req.authorization : req.token !== undefined ? `Bearer ${req.token}` : null
      if (req.token) witness.token(req.token)
      const result = await captured(witness, () => handlers[method](apiEvent(method, req.query ?? 'role=deploy', auth, req.body, req.contentType)))
      witness.answer(result.statusCode, result.body)
      return answer(result.statusCode, new Headers(result.headers), result.body)
    },
  }
}

/** An API Gateway HTTP API (payload 2.0) event, as Lambda receives it. */
export function apiEvent (method: 'GET' | 'POST', query: string, authorization: string | string[] | null, body?: string, contentType?: string): HttpEvent {
  const headers: Record<string, string> = { host: 'sts.tanuki.test', 'user-agent': 'curl/8.5.0' }
  // API Gateway joins repeated headers with commas.
  if (authorization !== null) headers.authorization = Array.isArray(authorization) ? authorization.join(',') : authorization
  if (contentType) headers['content-type'] = contentType
  return {
    rawPath: '/credentials',
    rawQueryString: query,
    headers,
    ...(body !== undefined && { body, isBase64Encoded: false }),
    requestContext: { requestId: randomUUID(), http: { method } },
  }
}

/**
 * Runs `fn` with the broker's JSON log lines (console.log / console.error) captured into the witness instead of
 * printed. Calls may overlap (concurrent requests): the console is restored when the last one ends.
 */
let active = 0
let sink: string[] = []
let restore: (() => void) | undefined
export async function captured<T> (witness: Witness, fn: () => Promise<T>): Promise<T> {
  sink = witness.lines
  if (active++ === 0) {
    const { log: out, error: err } = console
    const grab = (original: (...a: unknown[]) => void) => (...args: unknown[]) => {
      // The broker's log lines and its metric lines (EMF): captured, so the leak checks read them too.
      if (typeof args[0] === 'string' && (args[0].startsWith('{"level":') || args[0].startsWith('{"_aws":'))) sink.push(args[0])
      else original(...args)
    }
    console.log = grab(out)
    console.error = grab(err)
    restore = () => { console.log = out; console.error = err }
  }
  try { return await fn() }
  finally { if (--active === 0) restore?.() }
}

/** A DynamoDB client on the sandbox's local DynamoDB that counts what it sends, by command. */
export function countingDb (env: BrokerEnv): { db: DynamoDBClient; sent: Record<string, number> } {
  const db = createDynamoClient({ region: 'us-east-1', endpoint: `http://localhost:${env.tablesPort}` })
  const sent: Record<string, number> = {}
  db.middlewareStack.add((next, context) => async args => {
    sent[context.commandName ?? '?'] = (sent[context.commandName ?? '?'] ?? 0) + 1
    return next(args)
  }, { step: 'initialize', name: 'countCommands' })
  return { db, sent }
}

/** Bus modes: `ok` takes every event, `fail` answers 500 as a broken SNS or sandbox bus would, `hang` never answers. */
export type BusMode = 'ok' | 'fail' | 'hang'
export interface EventBus {
  port: number
  events: unknown[]
  mode: BusMode
  /** Answers (200) every publish held in `hang` mode, and sets the mode. */
  setMode (mode: BusMode): void
}

/**
 * Where in-process publishes go (inProcess points the publisher at it, as at sandbox's bus): one stand-in bus for the
 * whole process, unref'd so it never keeps the process alive. (The sandbox Lambdas publish to sandbox's own bus.)
 */
let bus: Promise<EventBus> | undefined
export function eventBus (): Promise<EventBus> {
  bus ??= new Promise(resolve => {
    const held: http.ServerResponse[] = []
    const state: EventBus = {
      port: 0,
      events: [],
      mode: 'ok',
      setMode (mode) {
        state.mode = mode
        for (const res of held.splice(0)) { res.writeHead(200); res.end('ok') }
      },
    }
    const server = http.createServer((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => { text += c.toString() })
      req.on('end', () => {
        if (state.mode === 'hang') return void held.push(res)
        if (state.mode === 'fail') { res.writeHead(500); return void res.end('bus unavailable') }
        try { state.events.push((JSON.parse(text) as { payload?: unknown }).payload) } catch { /* not JSON */ }
        res.writeHead(200)
        res.end('ok')
      })
    })
    server.unref()
    server.listen(0, '127.0.0.1', () => {
      state.port = (server.address() as AddressInfo).port
      resolve(state)
    })
  })
  return bus
}

/** A loopback server that accepts connections and never answers (a hung upstream). */
export async function silentServer (): Promise<{ port: number; close (): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }),
  }
}

/** A loopback port with nothing listening: connections to it are refused at once. */
export async function closedPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
