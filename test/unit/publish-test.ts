// The credentials-issued publisher against loopback stand-ins: an SNS that checks SigV4 with the SDK's own signer
// (src/local/sigv4-verify.ts), and sandbox's event bus. Each case publishes one event and reads what arrived.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import test from 'tape'
import type { IssuedEvent } from '../../src/broker/exchange'
import { PUBLISH_TIMEOUT_MS, createPublisher } from '../../src/broker/publish'
import { verifySigV4 } from '../../src/local/sigv4-verify'

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:TanukiSts-CredentialsIssuedEventTopic-ABC'
const ROLE = { accessKeyId: 'ASIATANUKIPUBLISHTST', secretAccessKey: 'publish-test-secret', sessionToken: 'publish-test-session-token' }
const event = { pk: 'token#abc', sk: 'issue#2026-11-26T00:00:00.000Z#r1', issuanceId: 'i-1', accessKeyId: 'ASIAISSUED', role: 'deploy', reason: 'quotes \' " ' +
  '& = + % and ü' } as unknown as IssuedEvent

interface Received { path: string; headers: http.IncomingHttpHeaders; body: string; verified?: { service: string; region: string } }
let server: http.Server
let url: string
const received: Received[] = []
let answer: { status: number; body: string } = { status: 200,
  body: '<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>' }

test('Set up env', async t => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => void (async () => {
      const body = Buffer.concat(chunks).toString()
      const entry: Received = { path: req.url ?? '', headers: req.headers, body }
      if (req.headers.authorization) {
        const lookup = (id: string) => id === ROLE.accessKeyId ? { secretAccessKey: ROLE.secretAccessKey, sessionToken: ROLE.sessionToken } : undefined
        entry.verified = await verifySigV4({ method: req.method ?? '', path: req.url ?? '/', query: '', headers: req.headersDistinct, body }, lookup,
          { now: new Date() })
          .catch(() => undefined)
      }
      received.push(entry)
      if (answer.status === 0) return // never answer
      res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body)
    })())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.ok(url, `stand-in listening at ${url}`)
})

test('publish: SNS gets one Publish, signed for sns in the topic\'s region, with the event as its Message', async t => {
  received.length = 0
  const publish = createPublisher({ topicArn: TOPIC, region: 'eu-west-1', endpoint: `${url}/` }, async () => ROLE)
  await publish(event)
  t.equal(received.length, 1, 'one request')
  const [r] = received
  t.deepEqual(r.verified && { service: r.verified.service, region: r.verified.region }, { service: 'sns', region: 'eu-west-1' },
    'its SigV4 signature verifies, for sns in eu-west-1')
  t.equal(r.headers['x-amz-security-token'], ROLE.sessionToken, 'the Lambda role\'s session token is sent (and signed)')
  t.match(String(r.headers['content-type']), /^application\/x-www-form-urlencoded/, 'a Query API form body')
  const params = new URLSearchParams(r.body)
  t.equal(params.get('Action'), 'Publish', 'Action=Publish')
  t.equal(params.get('Version'), '2010-03-31', 'the SNS API version')
  t.equal(params.get('TopicArn'), TOPIC, 'the topic ARN')
  t.deepEqual(JSON.parse(params.get('Message') ?? ''), event, 'the Message is the event, every character intact')
})

test('publish: an SNS refusal is an error naming its code', async t => {
  answer = { status: 403,
    body: '<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not allowed</Message></Error></ErrorResponse>' }
  try {
    const publish = createPublisher({ topicArn: TOPIC, region: 'eu-west-1', endpoint: `${url}/` }, async () => ROLE)
    await publish(event).then(() => t.fail('resolved'), (err: Error) => t.equal(err.message, 'SNS Publish answered 403 AuthorizationError: not allowed',
      'status, code and message'))
  }
  finally { answer = { status: 200, body: 'ok' } }
})

test('publish: sandbox\'s event bus gets { name, payload }', async t => {
  received.length = 0
  await createPublisher({ bus: `${url}/events` }, async () => ROLE)(event)
  t.equal(received.length, 1, 'one request')
  t.equal(received[0].path, '/events', 'to /events')
  t.deepEqual(JSON.parse(received[0].body), { name: 'credentials-issued', payload: event }, 'the event under its name')
  t.notOk(received[0].headers.authorization, 'unsigned, as sandbox expects')
  answer = { status: 404, body: 'Not found' }
  try {
    await createPublisher({ bus: `${url}/events` }, async () => ROLE)(event).then(() => t.fail('resolved'),
      (err: Error) => t.match(err.message, /event bus answered 404/, 'a bus that refuses is an error'))
  }
  finally { answer = { status: 200, body: 'ok' } }
})

test('publish: a sandbox without an events port fails each publish, saying why', async t => {
  await createPublisher({ bus: undefined }, async () => ROLE)(event).then(() => t.fail('resolved'),
    (err: Error) => t.match(err.message, /no ports\.events in ARC_SANDBOX/, 'names what is missing'))
})

test('publish: a bus that never answers is given up after PUBLISH_TIMEOUT_MS', async t => {
  answer = { status: 0, body: '' }
  const started = Date.now()
  try {
    await createPublisher({ bus: `${url}/events` }, async () => ROLE)(event).then(() => t.fail('resolved'),
      (err: Error) => t.match(err.message, new RegExp(`did not answer within ${PUBLISH_TIMEOUT_MS} ms`), 'a deadline error'))
    t.ok(Date.now() - started < PUBLISH_TIMEOUT_MS + 1000, `after about ${PUBLISH_TIMEOUT_MS} ms`)
  }
  finally { answer = { status: 200, body: 'ok' } }
})

/** A server that drops the n-th request of each connection without an answer, as one that closed it while idle. */
async function dropping (nth: number): Promise<{ url: string; requests: number; connections: number; close (): Promise<void> }> {
  const state = { requests: 0, connections: 0 }
  const perSocket = new WeakMap<object, number>()
  const dropper = http.createServer((req, res) => {
    state.requests++
    const n = (perSocket.get(req.socket) ?? 0) + 1
    perSocket.set(req.socket, n)
    if (n === nth) return void req.socket.destroy()
    req.resume()
    req.on('end', () => res.writeHead(200).end('ok'))
  })
  dropper.on('connection', () => void state.connections++)
  await new Promise<void>(resolve => dropper.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(dropper.address() as AddressInfo).port}`,
    get requests () { return state.requests },
    get connections () { return state.connections },
    close: () => new Promise(resolve => { dropper.closeAllConnections(); dropper.close(() => resolve()) }),
  }
}

test('publish: a kept connection found closed when reused is given up, and the event sent again on a new one', async t => {
  const bus = await dropping(2)
  try {
    const publish = createPublisher({ bus: `${bus.url}/events` }, async () => ROLE)
    await publish(event)
    await publish(event).then(() => t.pass('the second publish, whose kept connection was closed, succeeds'), (err: Error) => t.fail(err.message))
    t.equal(bus.requests, 3, 'the dropped request and its repeat')
    t.equal(bus.connections, 2, 'the repeat on a new connection')
  }
  finally { await bus.close() }
})

test('publish: a new connection that fails is not tried again: the publish fails (and is logged by the exchange)', async t => {
  const bus = await dropping(1)
  try {
    await createPublisher({ bus: `${bus.url}/events` }, async () => ROLE)(event).then(() => t.fail('resolved'),
      (err: Error) => t.match(err.message, /socket hang up/, 'the connection\'s error'))
    t.equal(bus.requests, 1, 'sent once')
  }
  finally { await bus.close() }
})

test('Teardown', async t => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
  t.pass('stand-in stopped')
})
