// Publishes `credentials-issued`: to sandbox's event bus locally; in AWS, one SigV4-signed SNS Publish to the event's topic.
// Not through @architect/functions: bundled, its code alone added ~40 ms to every cold start of the credentials Lambdas
// though only lazily imported, and its first publish looked the topic up in SSM (docs/performance.md). What the event
// Lambda does with the event is issued-log.ts's.
import http from 'node:http'
import https from 'node:https'
import { SignatureV4 } from '@smithy/signature-v4'
import type { EventsTarget } from './config'
import { NodeSha256 } from './node-sha256'
import type { IssuedEvent } from './exchange'

export const ISSUED_EVENT = 'credentials-issued'

export type Publish = (event: IssuedEvent) => Promise<void>

/** The signer's credentials: the same provider the SDK clients use (the Lambda role's, from the environment). */
export type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials']

/**
 * A publish is on the request path, and SNS answers in milliseconds: a hanging bus or SNS must not hold the caller's
 * credentials until the Lambda times out. Past this, the publish counts as failed (and is logged).
 */
export const PUBLISH_TIMEOUT_MS = 2000
// Connections are kept for the next issuance of a warm container, as the SDK's own clients keep theirs.
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) }

interface Answer { status: number; text: string }

/** A kept connection was found closed when reused, before any answer (see post). */
class StaleConnection extends Error {
  constructor (readonly cause: Error) {
    super(`a kept connection was closed when reused: ${cause.message}`)
    this.name = 'StaleConnection'
  }
}

/**
 * One POST, sent once more on a new connection if the kept one it reused turns out closed before any answer: the other
 * side closes idle connections (and a frozen container's may have gone idle for minutes), a race Node leaves to the
 * caller (its docs: request.reusedSocket). A publish that did arrive is then published twice, which the event Lambda
 * takes as SNS's own at-least-once delivery. One deadline bounds both.
 */
async function post (url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
  // A deadline for the whole exchange, not an idle timeout: a bus that trickles bytes is cut off too.
  const deadline = AbortSignal.timeout(PUBLISH_TIMEOUT_MS)
  try { return await postOnce(url, headers, body, deadline) }
  catch (err) {
    if (!(err instanceof StaleConnection)) throw err
    return postOnce(url, headers, body, deadline)
  }
}

function postOnce (url: URL, headers: Record<string, string>, body: string, deadline: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false
    const fail = (err: unknown) => reject(deadline.aborted ? new Error(`${url.host} did not answer within ${PUBLISH_TIMEOUT_MS} ms`) : err)
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'],
      signal: deadline,
    }, response => {
      answered = true
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      response.on('error', fail)
    })
    request.on('error', err => {
      const stale = request.reusedSocket && !answered && !deadline.aborted && (err as NodeJS.ErrnoException).code === 'ECONNRESET'
      if (stale) reject(new StaleConnection(err))
      else fail(err)
    })
    request.end(body)
  })
}

/** RFC 3986 form encoding, as the SDKs encode Query API parameters. */
function formEncode (params: Record<string, string>): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return Object.entries(params).map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')
}

/** Sandbox's bus takes `{ name, payload }` and hands the payload to the event's Lambda, as SNS would. */
function publishToBus (where: string | undefined): Publish {
  return async event => {
    if (where === undefined) throw new Error('sandbox did not say where its event bus is (no ports.events in ARC_SANDBOX)')
    const bus = new URL(where)
    const answer = await post(bus, { 'content-type': 'application/json' }, JSON.stringify({ name: ISSUED_EVENT, payload: event }))
    if (answer.status !== 200) throw new Error(`sandbox's event bus answered ${answer.status}: ${answer.text.slice(0, 200)}`)
  }
}

/** SNS Publish over its Query API (docs.aws.amazon.com/sns/latest/api/API_Publish.html): the Message is the event's JSON. */
function publishToSns (target: Extract<EventsTarget, { topicArn: string }>, credentials: Credentials): Publish {
  const endpoint = new URL(target.endpoint)
  const signer = new SignatureV4({ service: 'sns', region: target.region, credentials, sha256: NodeSha256 })
  return async event => {
    const body = formEncode({ Action: 'Publish', Version: '2010-03-31', TopicArn: target.topicArn, Message: JSON.stringify(event) })
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port && { port: Number(endpoint.port) }),
      path: endpoint.pathname,
      query: {},
      headers: { host: endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    })
    const answer = await post(endpoint, signed.headers, body)
    if (answer.status !== 200) {
      const field = (name: string) => new RegExp(`<${name}>([^<]{0,300})</${name}>`).exec(answer.text)?.[1] ?? '?'
      throw new Error(`SNS Publish answered ${answer.status} ${field('Code')}: ${field('Message')}`)
    }
  }
}

/** The publisher for a configuration; a failed publish throws (the exchange logs it: the audit record is already durable). */
export function createPublisher (target: EventsTarget, credentials: Credentials): Publish {
  return 'bus' in target ? publishToBus(target.bus) : publishToSns(target, credentials)
}
