// SNS Publish and SSM GetParameters / GetParametersByPath on loopback, for the paths that talk to AWS itself (no AWS
// account here): the event publish from a deployed Lambda (bench/cold-start.ts) and the CLI's --region/--env target
// (test/integration/cli-deployed-test.ts). Each request's SigV4 signature is checked with the SDK's own signer
// (src/local/sigv4-verify.ts) and what was signed is kept; real SNS and SSM do far more.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifySigV4 } from '../../src/local/sigv4-verify'
import type { SecretLookup, Verified } from '../../src/local/sigv4-verify'

type Action = 'Publish' | 'GetParameters' | 'GetParametersByPath'

export interface FakeAws {
  readonly url: string
  /** Verified requests per action, and rejected ones (bad signature). */
  readonly calls: Record<Action | 'rejected', number>
  /** The Message of each Publish, in order. */
  readonly messages: string[]
  /** Who signed each verified request, for which region and service, in order. */
  readonly signers: Array<Pick<Verified, 'accessKeyId' | 'region' | 'service'>>
  /** SSM parameters by name; change it to "deploy" or "tear down" a stack. */
  readonly parameters: Record<string, string>
  /** When set, every SSM call answers AccessDeniedException (a caller without ssm:GetParameters). */
  denySsm: boolean
  close (): Promise<void>
}

export async function startFakeAws (o: { port?: number; lookup: SecretLookup; parameters?: Record<string, string> }): Promise<FakeAws> {
  const calls: FakeAws['calls'] = { Publish: 0, GetParameters: 0, GetParametersByPath: 0, rejected: 0 }
  const messages: string[] = []
  const signers: FakeAws['signers'] = []
  const parameters: Record<string, string> = { ...o.parameters }
  const state = { denySsm: false }
  const ssmJson = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body))

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => void (async () => {
      const body = Buffer.concat(chunks)
      const [path, query = ''] = (req.url ?? '/').split('?', 2)
      let verified: Verified
      try {
        verified = await verifySigV4({ method: req.method ?? 'POST', path, query, headers: req.headersDistinct, body }, o.lookup, { now: new Date() })
      }
      catch (err) {
        if (process.env.BENCH_DEBUG) console.error('fake AWS refused', req.method, req.url, req.headers, body.toString().slice(0, 300), err)
        calls.rejected++
        res.writeHead(403, { 'content-type': 'text/xml' })
          .end(`<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>${String(err)}</Message></Error></ErrorResponse>`)
        return
      }
      signers.push({ accessKeyId: verified.accessKeyId, region: verified.region, service: verified.service })
      const target = String(req.headers['x-amz-target'] ?? '')
      if (verified.service === 'ssm' && (target === 'AmazonSSM.GetParameters' || target === 'AmazonSSM.GetParametersByPath')) {
        const action = target === 'AmazonSSM.GetParameters' ? 'GetParameters' : 'GetParametersByPath'
        calls[action]++
        if (state.denySsm) {
          ssmJson(res, 400, { __type: 'AccessDeniedException', message: `User: ${verified.accessKeyId} is not authorized to perform: ssm:${action}` })
          return
        }
        const asParameter = ([Name, Value]: [string, string]) => ({ Name, Type: 'String', Value, Version: 1 })
        if (action === 'GetParametersByPath') {
          ssmJson(res, 200, { Parameters: Object.entries(parameters).map(asParameter) })
          return
        }
        const names = (JSON.parse(body.toString() || '{}') as { Names?: string[] }).Names ?? []
        ssmJson(res, 200, {
          Parameters: names.filter(n => n in parameters).map(n => asParameter([n, parameters[n]])),
          InvalidParameters: names.filter(n => !(n in parameters)),
        })
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
      res.writeHead(400, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Code>InvalidAction</Code><Message>not ' +
        'faked</Message></Error></ErrorResponse>')
    })())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve())
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    messages,
    signers,
    parameters,
    get denySsm () { return state.denySsm },
    set denySsm (value: boolean) { state.denySsm = value },
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
