// SNS Publish and SSM GetParametersByPath on loopback, for the AWS path of the event publish (no AWS account here):
// each request's SigV4 signature is checked with the SDK's own signer (src/local/sigv4-verify.ts), then counted.
// What uses it is cold-start.ts's and round-trips.ts's; real SNS and SSM do far more.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { verifySigV4 } from '../src/local/sigv4-verify'
import type { SecretLookup } from '../src/local/sigv4-verify'

export interface FakeAws {
  readonly url: string
  /** Verified requests per action, and rejected ones (bad signature). */
  readonly calls: { Publish: number; GetParametersByPath: number; rejected: number }
  /** The Message of each Publish, in order. */
  readonly messages: string[]
  close (): Promise<void>
}

export async function startFakeAws (o: { port: number; lookup: SecretLookup; parameters: Record<string, string> }): Promise<FakeAws> {
  const calls = { Publish: 0, GetParametersByPath: 0, rejected: 0 }
  const messages: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => void (async () => {
      const body = Buffer.concat(chunks)
      const [path, query = ''] = (req.url ?? '/').split('?', 2)
      try {
        const verified = await verifySigV4({ method: req.method ?? 'POST', path, query, headers: req.headersDistinct, body }, o.lookup, { now: new Date() })
        if (verified.service === 'ssm' && req.headers['x-amz-target'] === 'AmazonSSM.GetParametersByPath') {
          calls.GetParametersByPath++
          const Parameters = Object.entries(o.parameters).map(([Name, Value]) => ({ Name, Type: 'String', Value }))
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Parameters }))
          return
        }
        // Query APIs take their parameters in the body (the SDKs) or in the query string (aws-lite's GET).
        const params = new URLSearchParams(query || body.toString())
        if (verified.service === 'sns' && params.get('Action') === 'Publish') {
          calls.Publish++
          messages.push(params.get('Message') ?? '')
          res.writeHead(200, { 'content-type': 'text/xml' }).end(
            `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult>` +
            `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`)
          return
        }
        res.writeHead(400, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Code>InvalidAction</Code><Message>not faked</Message></Error></ErrorResponse>')
      }
      catch (err) {
        if (process.env.BENCH_DEBUG) console.error('fake AWS refused', req.method, req.url, req.headers, body.toString().slice(0, 300), err)
        calls.rejected++
        res.writeHead(403, { 'content-type': 'text/xml' }).end(`<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>${String(err)}</Message></Error></ErrorResponse>`)
      }
    })())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, '127.0.0.1', () => resolve())
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    messages,
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
