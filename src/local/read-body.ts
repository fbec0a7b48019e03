// A request body as text, refused past a size: what the local issuer's endpoints read (mint's JSON, OAuth's forms).
import type http from 'node:http'

export function readBody (req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      text += chunk
      if (text.length > maxBytes) req.destroy(new Error('body too large'))
    })
    req.on('error', reject)
    req.on('end', () => resolve(text))
  })
}
