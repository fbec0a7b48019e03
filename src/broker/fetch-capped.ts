// An HTTP request for documents from an identity provider: no redirects, a timeout, and a size cap.
// What the document must contain is the caller's (issuer-fetch.ts, the console's sign-in) to check.
import { FetchRefused } from './errors'

/** Discovery and JWKS documents are a few KiB; anything past this is refused, not buffered. */
export const MAX_DOCUMENT_BYTES = 256 * 1024
export const FETCH_TIMEOUT_MS = 3000

async function readCapped (response: Response, url: string): Promise<string> {
  const length = Number(response.headers.get('content-length'))
  if (length > MAX_DOCUMENT_BYTES) throw new FetchRefused(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel()
      throw new FetchRefused(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** GETs a URL (or POSTs a form: the console's token request); a redirect, a non-200 status, a timeout or an oversized body is a FetchRefused. */
export async function fetchCapped (url: string, init: { headers?: Headers; signal?: AbortSignal; form?: URLSearchParams } = {}): Promise<Response> {
  let response: Response
  try {
    response = await fetch(url, {
      method: init.form ? 'POST' : 'GET',
      ...(init.form && { body: init.form }),
      redirect: 'manual',
      headers: init.headers,
      signal: init.signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS),
    })
  }
  catch (cause) {
    throw new FetchRefused(`${url} could not be fetched`, { cause })
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new FetchRefused(`${url} answered ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`)
  }
  let text: string
  try { text = await readCapped(response, url) }
  catch (cause) {
    if (cause instanceof FetchRefused) throw cause
    throw new FetchRefused(`${url} could not be read`, { cause })
  }
  return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } })
}
