// HTML from text: every value put into the `html` template is escaped unless it is already Html built here.
// What a page shows is the pages'; this file only makes sure a claim, a ref or a scope can never become markup.

/** Markup this module built (or a literal of a template): the only thing `html` inserts without escaping. */
export class Html {
  constructor (readonly text: string) {}
  toString (): string {
    return this.text
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' }

/** Text as HTML text or a quoted attribute value: & < > " ' escaped. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ESCAPES[c])
}

export type Part = Html | string | number | boolean | undefined | null | readonly Part[]

function render (value: Part): string {
  if (value instanceof Html) return value.text
  if (value === undefined || value === null || value === false) return ''
  if (typeof value === 'string') return escapeHtml(value)
  if (typeof value === 'number' || value === true) return escapeHtml(String(value))
  if (Array.isArray(value)) return value.map(render).join('')
  // An object would print as "[object Object]": a bug to see at once, never markup.
  throw new TypeError(`html: cannot insert a ${typeof value}`)
}

/** A template whose literal parts are markup and whose values are text (escaped), Html, or lists of either. */
export function html (strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]
  values.forEach((value, i) => { out += render(value) + strings[i + 1] })
  return new Html(out)
}

/** A console-relative link with a query string: the one way pages build hrefs (never from a scheme or host they were given). */
export function consoleHref (path: `/console${string}`, query: Readonly<Record<string, string | undefined>> = {}): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, value)
  const search = params.toString()
  return search ? `${path}?${search}` : path
}
