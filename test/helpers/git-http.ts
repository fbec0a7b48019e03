// A GitLab's git side, for fetching CI/CD components: git's own smart-HTTP server (`git http-backend`, run as CGI) over
// the bare repositories under a folder, on loopback. What is in those repositories is the tests' business.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface GitServer {
  /** `http://127.0.0.1:PORT`: a bare repository ROOT/group/project.git is cloned from URL/group/project.git. */
  readonly url: string
  /** Every request, as `METHOD /path?query`, oldest first. */
  readonly requests: string[]
  stop (): Promise<void>
}

/** Answers one request with `git http-backend`: CGI headers (Status, Content-Type, ...) then the body. */
function serve (root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const header = (name: string) => String(req.headers[name] ?? '')
  const backend = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: header('content-type'),
      REMOTE_ADDR: '127.0.0.1',
      // Protocol v2 and gzip-compressed requests, as git clients send them.
      GIT_PROTOCOL: header('git-protocol'),
      HTTP_CONTENT_ENCODING: header('content-encoding'),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  })
  req.pipe(backend.stdin)
  let head = Buffer.alloc(0)
  let sent = false
  backend.stdout.on('data', (chunk: Buffer) => {
    if (sent) { res.write(chunk); return }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) return
    sent = true
    let status = 200
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const [name, ...rest] = line.split(':')
      const value = rest.join(':').trim()
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
      else res.setHeader(name, value)
    }
    res.writeHead(status)
    res.write(head.subarray(end + 4))
  })
  backend.on('close', () => {
    if (!sent) res.writeHead(500)
    res.end()
  })
}

export async function startGitServer (root: string, port: number): Promise<GitServer> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`)
    serve(root, req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
