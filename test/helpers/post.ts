// Requests to the broker as its callers send them, and its answers as the tests read them.

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** The JSON body; {} for a shell script or an empty answer. */
  body: Record<string, unknown>
}

/** An answer's JSON body, or {} when it is not JSON (format=shell, or nothing). */
export function jsonBody (text: string): Record<string, unknown> {
  try { return JSON.parse(text) as Record<string, unknown> }
  catch { return {} }
}

export function answer (status: number, headers: Headers, text: string): Answer {
  return { status, headers, text, body: jsonBody(text) }
}

/** POST /credentials as curl in a CI job sends it: the token as a Bearer, the parameters in the query string. */
export async function post (url: string, token: string, query: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${url}/credentials?${query}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } })
  return answer(res.status, res.headers, await res.text())
}
