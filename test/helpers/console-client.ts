// A browser for the console in tests, without a browser: it keeps the session cookie (as a browser keeps it for the
// console's host), follows redirects only when asked, and signs in through the local issuer's /oauth/authorize page.
// The security suite drives the console with it; test/e2e/console-test.ts uses a real Chromium.

export interface Page {
  status: number
  headers: Headers
  text: string
  /** Where a redirect points (absolute). */
  location?: string
  url: string
}

/** The first `name="csrf" value="..."` of a page: every console form carries the session's token. */
export function csrfOf (text: string): string {
  const match = /name="csrf" value="([A-Za-z0-9_-]{43})"/.exec(text)
  if (!match) throw new Error('no CSRF token on this page')
  return match[1]
}

export class ConsoleClient {
  /** The `_idx` session cookie, as the browser would send it back; undefined before any. */
  cookie: string | undefined
  readonly visited: string[] = []
  /** Every Location the console answered with. */
  readonly redirects: string[] = []

  constructor (readonly base: string) {}

  async request (url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url, this.base).href
    this.visited.push(target)
    const headers = new Headers(init.headers)
    // The cookie goes to the console's host only, as a browser's would.
    if (this.cookie && new URL(target).host === new URL(this.base).host) headers.set('cookie', this.cookie)
    if (init.form) headers.set('content-type', 'application/x-www-form-urlencoded')
    const res = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form && { body: new URLSearchParams(init.form).toString() }),
    })
    const set = res.headers.get('set-cookie')
    if (set && new URL(target).host === new URL(this.base).host) {
      const pair = /(?:^|,\s*)(_idx=[^;]*)/.exec(set)
      if (pair) this.cookie = pair[1]
    }
    const location = res.headers.get('location')
    if (location) this.redirects.push(location)
    return { status: res.status, headers: res.headers, text: await res.text(), url: target, ...(location && { location: new URL(location, target).href }) }
  }

  get (url: string, headers?: Record<string, string>): Promise<Page> {
    return this.request(url, { headers })
  }

  post (url: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Page> {
    return this.request(url, { form, headers })
  }

  /** Follows redirects from `page` (at most 10), as a browser would. */
  async follow (page: Page): Promise<Page> {
    let current = page
    for (let i = 0; i < 10 && current.status >= 300 && current.status < 400 && current.location; i++) current = await this.get(current.location)
    return current
  }

  /** Starts a sign-in (GET /console/sign-in): the redirect to the issuer's authorize page, with state and nonce. */
  async startSignIn (returnTo?: string): Promise<URL> {
    const start = await this.get(`/console/sign-in${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`)
    if (start.status !== 302 || !start.location) throw new Error(`sign-in did not redirect: ${start.status}`)
    return new URL(start.location)
  }

  /** On the issuer's page, picks `login` (as the user clicks it): the issuer's redirect back to the console's callback. */
  async pickUser (authorize: URL, login: string): Promise<URL> {
    const form = Object.fromEntries(authorize.searchParams)
    const res = await fetch(`${authorize.origin}/oauth/authorize`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, login }).toString(),
    })
    const location = res.headers.get('location')
    if (res.status !== 302 || !location) throw new Error(`the issuer did not redirect back: ${res.status} ${await res.text()}`)
    return new URL(location)
  }

  /** The whole sign-in as `login`; returns the page the console lands on. */
  async signIn (login: string, returnTo?: string): Promise<Page> {
    const back = await this.pickUser(await this.startSignIn(returnTo), login)
    return this.follow(await this.get(back.href))
  }
}
